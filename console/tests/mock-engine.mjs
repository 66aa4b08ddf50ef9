// A stand-in for the engine's HTTP API, for working on the console without building the
// engine: it serves console/dist and the documents of an output directory that `reeltime demo`
// wrote, with change streams, replay creation and feedback worked out roughly (a greedy
// selection by priority weights; rendering reuses the demo's rendered catch-up replay). It is
// not the engine: scripts/console-test runs the browser test against `reeltime run`.
//
//   node tests/mock-engine.mjs DEMO_OUT_DIR [PORT]     (prints "serving http://127.0.0.1:PORT")

import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import process from 'node:process';

const out = resolve(process.argv[2] ?? '');
const port = Number(process.argv[3] ?? 0);
const dist = resolve(new URL('../dist', import.meta.url).pathname);
if (!process.argv[2] || !existsSync(join(out, 'events'))) {
  console.error('usage: node tests/mock-engine.mjs DEMO_OUT_DIR [PORT]');
  process.exit(2);
}

/** @typedef {{start: number, end: number|null, complete: boolean, features?: Record<string, {plugin: string, attribute: string, value: unknown}[]>, feedback?: Record<string, string>, optimizations?: Record<string, {opto_start: number, opto_end: number}>}} Segment */
/** @typedef {{event: any, segments: Segment[], version: number}} Ev */
/** @typedef {{request: any, doc: any}} Replay */

/** @param {string} path */
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
let epoch = 1;
/** @type {Map<string, Ev>} */
const events = new Map();
for (const dir of readdirSync(join(out, 'events'))) {
  const base = join(out, 'events', dir);
  const event = existsSync(join(base, 'event.json')) ? readJson(join(base, 'event.json')) : null;
  const segs = existsSync(join(base, 'segments.json')) ? readJson(join(base, 'segments.json')) : { segments: [] };
  const id = event?.event_id ?? segs.event_id ?? decodeURIComponent(dir);
  events.set(id, { event, segments: segs.segments, version: 1 });
}
/** @type {Map<string, Replay>} */
const replays = new Map();
for (const dir of existsSync(join(out, 'replays')) ? readdirSync(join(out, 'replays')) : []) {
  const path = join(out, 'replays', dir, 'selection.json');
  if (existsSync(path)) {
    const doc = readJson(path);
    replays.set(doc.replay_id, { request: null, doc });
  }
}
const renderedTemplate = [...replays.values()].map((r) => r.doc.rendered).find((r) => r && r.master) ?? null;

/** @type {Set<{key: string, res: import('node:http').ServerResponse}>} */
const subscribers = new Set();
let changeId = 0;
/** @param {string} key @param {string} kind @param {unknown} data */
function publish(key, kind, data) {
  changeId += 1;
  epoch += 1;
  for (const s of subscribers) {
    if (s.key === key) s.res.write(`event: ${kind}\nid: ${changeId}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

/** @param {Segment} seg @param {number} track */
const featuresOf = (seg, track) => seg.features?.[String(track)] ?? [];

/** @param {any} priority @param {{plugin: string, attribute: string, value: unknown}} f */
const matches = (priority, f) =>
  priority.attribute === f.attribute &&
  JSON.stringify(priority.value ?? true) === JSON.stringify(f.value) &&
  (!priority.plugin || priority.plugin === f.plugin);

/** Recomputes a replay made through the API; returns whether its view changed. @param {Replay} replay */
function select(replay) {
  const req = replay.request;
  if (!req) return false;
  const ev = events.get(req.event_id);
  const track = req.track ?? 1;
  const candidates = (ev?.segments ?? [])
    .filter((s) => s.complete && s.end !== null)
    .map((s) => {
      const feats = featuresOf(s, track).filter((f) => (req.priorities ?? []).some((/** @type {any} */ p) => matches(p, f)));
      const score = (req.priorities ?? []).reduce((/** @type {number} */ sum, /** @type {any} */ p) => sum + (featuresOf(s, track).some((f) => matches(p, f)) ? p.weight ?? 0 : 0), 0);
      const forced = Boolean(req.include_liked) && s.feedback?.[String(track)] === 'like';
      const disliked = Boolean(req.ignore_disliked) && s.feedback?.[String(track)] === 'dislike';
      const opto = s.optimizations?.[String(track)];
      return { s, feats, score, forced, disliked, clip_start: opto?.opto_start ?? s.start, clip_end: opto?.opto_end ?? /** @type {number} */ (s.end) };
    })
    .filter((c) => !c.disliked && (c.forced || c.score > 0))
    .sort((a, b) => Number(b.forced) - Number(a.forced) || b.score - a.score || a.s.start - b.s.start);
  const budget = (req.duration ?? 60) + (req.tolerance ?? 30);
  let total = 0;
  const chosen = [];
  for (const c of candidates) {
    const d = c.clip_end - c.clip_start;
    if (total + d > budget) continue;
    total += d;
    chosen.push(c);
  }
  chosen.sort((a, b) => a.clip_start - b.clip_start);
  const clips = chosen.map((c) => ({ start: c.s.start, end: c.s.end, clip_start: c.clip_start, clip_end: c.clip_end, score: c.score, forced: c.forced, features: c.feats }));
  const prev = replay.doc;
  const same = prev && JSON.stringify(prev.clips) === JSON.stringify(clips);
  if (same) return false;
  const version = (prev?.version ?? 0) + 1;
  replay.doc = {
    replay_id: req.replay_id,
    event_id: req.event_id,
    version,
    status: 'complete',
    mode: req.mode ?? 'duration',
    track,
    total_duration: Math.round(total * 1000) / 1000,
    total_score: clips.reduce((sum, c) => sum + c.score, 0),
    clips,
    rendered: req.render && renderedTemplate ? { ...renderedTemplate, version, status: 'rendering', master: null, duration: null } : null,
  };
  if (replay.doc.rendered) {
    setTimeout(() => {
      if (replays.get(req.replay_id) !== replay || replay.doc.version !== version) return;
      replay.doc = { ...replay.doc, rendered: { ...renderedTemplate, version, status: 'rendered' } };
      publish(`replay:${req.replay_id}`, 'change', replay.doc);
    }, 1500);
  }
  return true;
}

/** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} body */
function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Reeltime-Epoch': String(epoch) });
  res.end(JSON.stringify(body));
}
/** @param {import('node:http').ServerResponse} res @param {number} status @param {string} code @param {string} message */
const error = (res, status, code, message) => json(res, status, { message, error_code: code, details: null });

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.mp4': 'video/mp4', '.jpg': 'image/jpeg', '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' };

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res @param {string} path */
function file(req, res, path) {
  if (!existsSync(path) || !statSync(path).isFile()) return error(res, 404, 'not_found', 'no such file');
  const size = statSync(path).size;
  const type = TYPES[/** @type {keyof typeof TYPES} */ (extname(path))] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    const start = range[1] ? Number(range[1]) : size - Number(range[2]);
    const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    res.writeHead(206, { 'Content-Type': type, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' });
    createReadStream(path, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': size, 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-cache' });
  createReadStream(path).pipe(res);
}

/** @param {import('node:http').IncomingMessage} req */
async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (url.pathname === '/') return file(req, res, join(dist, 'index.html'));
    if (parts[0] === 'assets') return file(req, res, join(dist, 'assets', parts[1] ?? ''));
    if (parts[0] === 'health') return json(res, 200, { status: 'ok' });
    if (parts[0] !== 'api' || parts[1] !== 'v1') return error(res, 404, 'not_found', 'no such route');
    const [, , what, id, sub] = parts;
    if (what === 'files') {
      const rel = normalize(url.pathname.split('/').slice(4).join('/'));
      if (rel.startsWith('..')) return error(res, 400, 'bad_request', 'outside');
      return file(req, res, join(out, decodeURIComponent(rel)));
    }
    if (what === 'events' && !id) {
      return json(res, 200, { epoch, events: [...events].map(([eid, ev]) => ({ event_id: eid, event: ev.event, segments: ev.segments.length, version: ev.version })) });
    }
    if (what === 'events' && id) {
      const ev = events.get(id);
      if (!ev) return error(res, 404, 'not_found', `no event "${id}"`);
      if (!sub) return ev.event ? json(res, 200, ev.event) : error(res, 404, 'not_found', `no event "${id}"`);
      if (sub === 'segments') return json(res, 200, { event_id: id, segments: ev.segments });
      if (sub === 'features') {
        /** @type {Map<string, any>} */
        const counts = new Map();
        for (const s of ev.segments) {
          const seen = new Set();
          for (const list of Object.values(s.features ?? {})) {
            for (const f of list) {
              const key = JSON.stringify([f.plugin, f.attribute, f.value]);
              if (seen.has(key)) continue;
              seen.add(key);
              counts.set(key, { ...f, segments: (counts.get(key)?.segments ?? 0) + 1 });
            }
          }
        }
        return json(res, 200, { event_id: id, features: [...counts.values()] });
      }
      if (sub === 'changes') return stream(req, res, `event:${id}`, { event_id: id, version: ev.version, event: ev.event, segments: ev.segments });
    }
    if (what === 'replays' && !id && req.method === 'GET') {
      return json(res, 200, { epoch, replays: [...replays.values()].map((r) => ({ replay_id: r.doc.replay_id, event_id: r.doc.event_id, version: r.doc.version, status: r.doc.status, mode: r.doc.mode, clips: r.doc.clips.length, total_duration: r.doc.total_duration })) });
    }
    if (what === 'replays' && !id && req.method === 'POST') {
      const request = await body(req);
      if (!request.replay_id || !request.event_id) return error(res, 400, 'bad_request', 'replay_id and event_id are required');
      const replay = { request, doc: null };
      select(replay);
      replays.set(request.replay_id, replay);
      publish(`replay:${request.replay_id}`, 'change', replay.doc);
      return json(res, 200, { accepted: 1, rejected: 0, rejections: [] });
    }
    if (what === 'replays' && id) {
      const replay = replays.get(id);
      if (!replay) return error(res, 404, 'not_found', `no replay "${id}"`);
      if (req.method === 'DELETE') {
        replays.delete(id);
        publish(`replay:${id}`, 'removed', { replay_id: id, version: replay.doc.version, removed: true });
        return json(res, 200, { accepted: 1, rejected: 0, rejections: [] });
      }
      if (!sub) return json(res, 200, replay.doc);
      if (sub === 'changes') return stream(req, res, `replay:${id}`, replay.doc);
    }
    if (what === 'feedback' && req.method === 'POST') {
      const fb = await body(req);
      const ev = events.get(fb.event_id);
      const seg = ev?.segments.find((s) => Math.abs(s.start - fb.start) < 0.0005);
      if (!ev || !seg) return error(res, 422, 'records_rejected', 'no such segment');
      const track = String(fb.track ?? 1);
      seg.feedback = { ...(seg.feedback ?? {}) };
      if (fb.verdict === 'reset') delete seg.feedback[track];
      else seg.feedback[track] = fb.verdict;
      ev.version += 1;
      publish(`event:${fb.event_id}`, 'change', { event_id: fb.event_id, version: ev.version, event: null, segments: [seg], removed: [] });
      for (const replay of replays.values()) {
        if (replay.request?.event_id === fb.event_id && select(replay)) publish(`replay:${replay.doc.replay_id}`, 'change', replay.doc);
      }
      return json(res, 200, { accepted: 1, rejected: 0, rejections: [] });
    }
    return error(res, 404, 'not_found', 'no such route');
  } catch (e) {
    return error(res, 500, 'internal', e instanceof Error ? e.message : String(e));
  }
});

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res @param {string} key @param {unknown} snapshot */
function stream(req, res, key, snapshot) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  if (snapshot) res.write(`event: snapshot\nid: ${changeId}\ndata: ${JSON.stringify(snapshot)}\n\n`);
  const sub = { key, res };
  subscribers.add(sub);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15000);
  req.on('close', () => {
    clearInterval(keepAlive);
    subscribers.delete(sub);
  });
}

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const p = typeof address === 'object' && address ? address.port : port;
  console.error(`mock engine: serving http://127.0.0.1:${p} (documents of ${out})`);
});
