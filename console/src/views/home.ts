// `#/`: every event (status, profile, title, segments) and every replay (status, version).
// Refreshed every few seconds while shown.

import { api } from '../api';
import { clearError, duration, fill, h, showError, statusBadge } from '../dom';
import { eventHref, newReplayHref, replayHref } from '../routes';
import type { EventDoc, EventListEntry, ReplaySummary } from '../types';

const REFRESH_MS = 3000;

export function homeView(root: HTMLElement): () => void {
  const eventsBody = h('div', { class: 'card-body flush table-wrap' }, h('p', { class: 'muted pad' }, 'Loading events…'));
  const replaysBody = h('div', { class: 'card-body flush table-wrap' }, h('p', { class: 'muted pad' }, 'Loading replays…'));
  fill(
    root,
    h(
      'section',
      { class: 'card', 'data-testid': 'events' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Events')),
      eventsBody,
    ),
    h(
      'section',
      { class: 'card', 'data-testid': 'replays' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Replays')),
      replaysBody,
    ),
  );

  let stopped = false;
  let timer = 0;
  let failed = false;
  const refresh = async () => {
    try {
      const [events, replays] = await Promise.all([api.events(), api.replays()]);
      if (stopped) return;
      fill(eventsBody, eventsTable((events.events ?? []).map(flatEvent)));
      fill(replaysBody, replaysTable(replays.replays ?? []));
      if (failed) clearError();
      failed = false;
    } catch (e) {
      if (stopped) return;
      if (!failed) showError(e, 'Loading the events');
      failed = true;
    } finally {
      if (!stopped) timer = window.setTimeout(refresh, REFRESH_MS);
    }
  };
  void refresh();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

/** The list entry as one EventDoc with its segment count. */
export function flatEvent(entry: EventListEntry): EventDoc {
  const { event, ...rest } = entry;
  return event ? { ...rest, ...event, event_id: entry.event_id, segments: entry.segments } : rest;
}

function eventsTable(events: EventDoc[]): HTMLElement {
  if (events.length === 0) return h('p', { class: 'muted pad' }, 'No events yet. Post records to /api/v1/records.');
  const sorted = [...events].sort((a, b) => a.event_id.localeCompare(b.event_id));
  return h(
    'table',
    { class: 'table' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'Status'), h('th', { class: 'opt' }, 'Profile'), h('th', { class: 'num' }, 'Segments'), h('th', {}, '')),
    ),
    h(
      'tbody',
      {},
      sorted.map((event) =>
        h(
          'tr',
          { 'data-testid': 'event-row', 'data-event-id': event.event_id },
          h(
            'td',
            {},
            h('a', { href: eventHref(event.event_id), class: 'strong', 'data-testid': 'event-link' }, event.title || event.event_id),
            h('div', { class: 'muted small' }, event.title ? event.event_id : null, event.program ? ` · ${event.program}` : null),
          ),
          h('td', {}, event.status ? statusBadge(event.status) : h('span', { class: 'muted small', title: 'Only segments or detections name this event' }, 'no event record')),
          h(
            'td',
            { class: 'opt' },
            event.profile ?? '–',
            event.profile_known === false ? h('span', { class: 'warn small', title: 'No live profile of this name' }, ' (unknown)') : null,
          ),
          h('td', { class: 'num', 'data-testid': 'segment-count' }, event.segments ?? '–'),
          h('td', { class: 'actions' }, h('a', { href: newReplayHref(event.event_id), class: 'button button-small' }, 'New replay')),
        ),
      ),
    ),
  );
}

function replaysTable(replays: ReplaySummary[]): HTMLElement {
  if (replays.length === 0) return h('p', { class: 'muted pad' }, 'No replays yet.');
  const sorted = [...replays].sort((a, b) => a.replay_id.localeCompare(b.replay_id));
  return h(
    'table',
    { class: 'table' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'Replay'), h('th', { class: 'opt' }, 'Event'), h('th', { class: 'opt' }, 'Mode'), h('th', {}, 'Status'), h('th', { class: 'num opt' }, 'Clips'), h('th', { class: 'num' }, 'Duration'), h('th', { class: 'num' }, 'Version')),
    ),
    h(
      'tbody',
      {},
      sorted.map((replay) =>
        h(
          'tr',
          { 'data-testid': 'replay-row', 'data-replay-id': replay.replay_id },
          h('td', {}, h('a', { href: replayHref(replay.replay_id), class: 'strong', 'data-testid': 'replay-link' }, replay.replay_id)),
          h('td', { class: 'opt' }, h('a', { href: eventHref(replay.event_id) }, replay.event_id)),
          h('td', { class: 'opt' }, replay.mode),
          h('td', {}, statusBadge(replay.status)),
          h('td', { class: 'num opt' }, replay.clips ?? '–'),
          h('td', { class: 'num' }, replay.total_duration === undefined ? '–' : duration(replay.total_duration)),
          h('td', { class: 'num', 'data-testid': 'replay-version' }, `v${replay.version}`),
        ),
      ),
    ),
  );
}
