// Hash routes: `#/`, `#/events/{id}`, `#/replays/{id}`, `#/replays/new?event={id}`.

export type Route =
  | { kind: 'home' }
  | { kind: 'event'; eventId: string; start: number | null; track: number | null }
  | { kind: 'replay'; replayId: string }
  | { kind: 'newReplay'; eventId: string | null }
  | { kind: 'notFound'; path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart] = splitOnce(raw, '?');
  const path = pathPart.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(queryPart ?? '');
  if (path === '/') return { kind: 'home' };
  const parts = path.split('/').slice(1);
  try {
    if (parts.length === 2 && parts[0] === 'events' && parts[1]) {
      return {
        kind: 'event',
        eventId: decodeURIComponent(parts[1]),
        start: numberParam(query.get('start')),
        track: numberParam(query.get('track')),
      };
    }
    if (parts.length === 2 && parts[0] === 'replays' && parts[1] === 'new') {
      return { kind: 'newReplay', eventId: query.get('event') };
    }
    if (parts.length === 2 && parts[0] === 'replays' && parts[1]) {
      return { kind: 'replay', replayId: decodeURIComponent(parts[1]) };
    }
  } catch {
    // A malformed %-escape: not a route.
  }
  return { kind: 'notFound', path };
}

function numberParam(value: string | null): number | null {
  if (value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

export const homeHref = (): string => '#/';
export const eventHref = (eventId: string, start?: number, track?: number): string => {
  const query = new URLSearchParams();
  if (start !== undefined) query.set('start', String(start));
  if (track !== undefined) query.set('track', String(track));
  const q = query.toString();
  return `#/events/${encodeURIComponent(eventId)}${q ? '?' + q : ''}`;
};
export const replayHref = (replayId: string): string => `#/replays/${encodeURIComponent(replayId)}`;
export const newReplayHref = (eventId?: string): string =>
  eventId === undefined ? '#/replays/new' : `#/replays/new?event=${encodeURIComponent(eventId)}`;
