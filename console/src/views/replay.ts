// `#/replays/{id}`: a replay's status, version, clips and rendered video (HLS), live from the
// replay's change stream.

import { api, ApiError, fileUrl, streams } from '../api';
import { chip, clearError, clock, duration, fill, h, showError, statusBadge, toast } from '../dom';
import { live } from '../live';
import { attachHls, type Player } from '../player';
import { eventHref, homeHref } from '../routes';
import type { SelectionDoc } from '../types';

export function replayView(root: HTMLElement, replayId: string): () => void {
  let stopped = false;
  let doc: SelectionDoc | null = null;
  let removed = false;
  const versions: { version: number; at: Date }[] = [];

  const version = h('span', { class: 'version', 'data-testid': 'replay-version', 'data-version': '' }, '–');
  const status = h('span', { 'data-testid': 'replay-status' });
  const eventLink = h('span', { class: 'meta' });
  const stats = h('dl', { class: 'stats', 'data-testid': 'replay-stats' });
  const history = h('ol', { class: 'history', 'data-testid': 'version-history' });
  const playerBox = h('div', { class: 'player-box', 'data-testid': 'replay-player' });
  const renderInfo = h('div', { class: 'render-info small' });
  const clips = h('div', { class: 'card-body flush table-wrap', 'data-testid': 'replay-clips' }, h('p', { class: 'muted pad' }, 'Loading…'));
  const removedNote = h('div', { class: 'notice', hidden: true, 'data-testid': 'replay-removed' }, 'This replay was deleted.');
  const deleteButton = h('button', { type: 'button', class: 'button button-danger', 'data-testid': 'delete-replay', onclick: () => void onDelete() }, 'Delete');

  const stream = live<SelectionDoc>(streams.replay(replayId), {
    onDocument: (next) => take(next),
    onRemoved: () => {
      removed = true;
      removedNote.hidden = false;
      deleteButton.disabled = true;
      releasePlayer();
      fill(playerBox, h('div', { class: 'no-clip' }, 'Deleted.'));
    },
  });

  fill(
    root,
    h('nav', { class: 'crumbs' }, h('a', { href: homeHref() }, 'Replays'), ' / ', replayId),
    removedNote,
    h(
      'section',
      { class: 'page-head' },
      h('div', {}, h('h1', { class: 'page-title' }, replayId, ' ', version), h('div', { class: 'meta' }, status, eventLink)),
      h('div', { class: 'page-actions' }, stream.indicator, deleteButton),
    ),
    h(
      'div',
      { class: 'split split-wide' },
      h(
        'section',
        { class: 'card' },
        h('header', { class: 'card-head' }, h('h2', {}, 'Video')),
        h('div', { class: 'card-body' }, playerBox, renderInfo),
      ),
      h(
        'section',
        { class: 'card' },
        h('header', { class: 'card-head' }, h('h2', {}, 'Summary')),
        h('div', { class: 'card-body' }, stats, h('h3', { class: 'subhead' }, 'Versions seen'), history),
      ),
    ),
    h('section', { class: 'card' }, h('header', { class: 'card-head' }, h('h2', {}, 'Selected clips')), clips),
  );

  void (async () => {
    try {
      const first = await api.replay(replayId);
      // The stream's snapshot may have come first: the newer document wins.
      const current = doc as SelectionDoc | null;
      if (!stopped && (current === null || first.version > current.version)) take(first);
    } catch (e) {
      if (stopped || doc !== null) return;
      // A replay just written is in the views one epoch later: its change stream brings it.
      if (e instanceof ApiError && e.status === 404) {
        fill(status, h('span', { class: 'muted' }, 'waiting for the engine to compute it'));
        return;
      }
      showError(e, `Loading replay ${replayId}`);
    }
  })();

  function take(next: SelectionDoc): void {
    if (stopped || removed) return;
    const previous = doc;
    doc = next;
    if (!versions.some((v) => v.version === next.version)) {
      versions.push({ version: next.version, at: new Date() });
      if (previous && previous.version !== next.version) {
        version.classList.remove('bump');
        void version.offsetWidth;
        version.classList.add('bump');
      }
    }
    render(next);
  }

  let player: Player | null = null;
  let playerKey = '';

  function releasePlayer(): void {
    player?.destroy();
    player = null;
    playerKey = '';
  }

  function render(d: SelectionDoc): void {
    version.textContent = `v${d.version}`;
    version.dataset['version'] = String(d.version);
    fill(status, statusBadge(d.status));
    fill(eventLink, h('span', { class: 'muted' }, 'event '), h('a', { href: eventHref(d.event_id), 'data-testid': 'replay-event' }, d.event_id));
    fill(
      stats,
      stat('Mode', d.mode),
      stat('Track', String(d.track)),
      stat('Clips', String(d.clips.length), 'clip-count'),
      stat('Total duration', duration(d.total_duration), 'total-duration'),
      d.total_score === null || d.total_score === undefined ? null : stat('Total score', String(d.total_score)),
      stat('Rendered', d.rendered ? `${d.rendered.status} (v${d.rendered.version})` : 'not asked for', 'render-status'),
    );
    fill(
      history,
      [...versions].reverse().map((v) => h('li', {}, h('strong', {}, `v${v.version}`), ' ', h('span', { class: 'muted' }, v.at.toLocaleTimeString()))),
    );
    renderVideo(d);
    renderClips(d);
  }

  function renderVideo(d: SelectionDoc): void {
    const r = d.rendered;
    if (!r) {
      releasePlayer();
      fill(playerBox, h('div', { class: 'no-clip' }, 'This replay asks for no video.'));
      fill(renderInfo);
      return;
    }
    const thumb = r.thumbnail ? fileUrl(r.thumbnail) : undefined;
    if (r.master) {
      // The master playlist keeps its path across versions: a new rendered version reloads it.
      const key = `${r.master}|${r.version}`;
      if (key !== playerKey) {
        releasePlayer();
        playerKey = key;
        const problem = h('div', { class: 'warn small', hidden: true, 'data-testid': 'player-problem' });
        const video = h('video', { class: 'player', controls: true, playsinline: true, muted: true, preload: 'auto', poster: thumb, 'data-testid': 'replay-video' });
        video.muted = true;
        fill(playerBox, video, problem);
        player = attachHls(video, fileUrl(r.master), String(r.version), (message) => {
          problem.hidden = false;
          problem.textContent = message;
        });
      }
    } else {
      releasePlayer();
      fill(
        playerBox,
        h(
          'div',
          { class: 'no-clip' },
          thumb ? h('img', { class: 'thumb-large', src: thumb, alt: 'Replay thumbnail' }) : null,
          h('div', {}, r.status === 'failed' ? h('span', { class: 'warn' }, `Rendering failed: ${r.error ?? 'unknown error'}`) : `Video ${r.status.replace(/_/g, ' ')}…`),
        ),
      );
    }
    fill(
      renderInfo,
      h('div', {}, statusBadge(r.status), ' ', h('span', { class: 'muted' }, `video of v${r.version}`), r.duration ? ` · ${duration(r.duration)}` : null),
      r.error ? h('div', { class: 'warn' }, r.error) : null,
      r.renditions.length > 0
        ? h(
            'ul',
            { class: 'renditions' },
            r.renditions.map((rd) =>
              h(
                'li',
                {},
                h('strong', {}, rd.resolution),
                h('span', { class: 'muted' }, ` ${rd.width}×${rd.height}`),
                rd.mp4 ? [' · ', h('a', { href: fileUrl(rd.mp4) }, 'MP4')] : null,
                rd.playlist ? [' · ', h('a', { href: fileUrl(rd.playlist) }, 'HLS')] : null,
              ),
            ),
          )
        : null,
    );
  }

  function renderClips(d: SelectionDoc): void {
    if (d.clips.length === 0) {
      fill(clips, h('p', { class: 'muted pad' }, d.status === 'waiting_for_event' ? 'Waiting for the event to end (an after-event replay).' : 'No clips selected yet.'));
      return;
    }
    fill(
      clips,
      h(
        'table',
        { class: 'table' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Segment'), h('th', { class: 'opt' }, 'Clip'), h('th', { class: 'num' }, 'Score'), h('th', {}, ''), h('th', {}, 'Features')),
        ),
        h(
          'tbody',
          {},
          d.clips.map((c, i) =>
            h(
              'tr',
              { 'data-testid': 'replay-clip', 'data-start': c.start, 'data-forced': c.forced ? 'true' : 'false' },
              h('td', { class: 'num muted' }, i + 1),
              h('td', {}, h('a', { href: eventHref(d.event_id, c.start, d.track) }, `${clock(c.start)} – ${clock(c.end)}`)),
              h('td', { class: 'small opt' }, `${clock(c.clip_start)} – ${clock(c.clip_end)}`, h('div', { class: 'muted' }, duration(c.clip_end - c.clip_start))),
              h('td', { class: 'num' }, c.score ?? '–'),
              h('td', {}, c.forced ? h('span', { class: 'verdict verdict-like', title: 'Selected because liked', 'data-testid': 'forced' }, '★ liked') : null),
              h('td', {}, h('div', { class: 'chips' }, c.features.length === 0 ? h('span', { class: 'muted small' }, '–') : c.features.map((f) => chip(f)))),
            ),
          ),
        ),
      ),
    );
  }

  async function onDelete(): Promise<void> {
    if (!window.confirm(`Delete replay ${replayId}?`)) return;
    try {
      await api.deleteReplay(replayId);
      clearError();
      toast('Replay deleted');
    } catch (e) {
      showError(e, 'Deleting the replay');
    }
  }

  return () => {
    stopped = true;
    stream.close();
    releasePlayer();
  };
}

function stat(label: string, value: string, testId?: string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { 'data-testid': testId }, value)];
}
