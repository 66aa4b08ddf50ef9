// `#/events/{id}`: the event's segments on a timeline of event time, their features, and the
// selected segment's clip (thumbnail, MP4 player) with Like / Dislike. Live from the event's
// change stream.

import { api, ApiError, fileUrl, streams } from '../api';
import { chip, clearError, clock, duration, fill, h, showError, statusBadge, toast } from '../dom';
import { live } from '../live';
import { eventHref, homeHref, newReplayHref } from '../routes';
import type { EventDoc, EventStreamDoc, FeatureDoc, RenderedClipDoc, SegmentDoc } from '../types';

interface State {
  event: EventDoc | null;
  segments: SegmentDoc[];
  track: number;
  selected: number | null;
  changes: number;
  scrolled: boolean;
  /** A message of the change stream came. */
  streamed: boolean;
}

export function eventView(root: HTMLElement, eventId: string, start: number | null, track: number | null): () => void {
  const state: State = { event: null, segments: [], track: track ?? 1, selected: start, changes: 0, scrolled: false, streamed: false };
  let stopped = false;

  const title = h('h1', { class: 'page-title' }, eventId);
  const meta = h('div', { class: 'meta' });
  const trackPicker = h('span', { class: 'track-picker' });
  const timeline = h('div', { class: 'timeline', 'data-testid': 'timeline' });
  const summary = h('span', { class: 'muted small', 'data-testid': 'segment-summary' }, 'Loading segments…');
  const list = h('div', { class: 'segment-list', 'data-testid': 'segment-list' });
  const detail = h('div', { class: 'detail', 'data-testid': 'segment-detail' });
  const stream = live<EventStreamDoc>(streams.event(eventId), {
    onDocument: (doc, kind) => {
      if (doc.event) state.event = doc.event;
      if (kind === 'snapshot' || !Array.isArray(doc.removed)) {
        state.segments = sortSegments(doc.segments ?? []);
      } else {
        state.segments = mergeSegments(state.segments, doc.segments ?? [], doc.removed);
      }
      state.streamed = true;
      if (kind === 'change') state.changes += 1;
      render();
    },
  });

  fill(
    root,
    h('nav', { class: 'crumbs' }, h('a', { href: homeHref() }, 'Events'), ' / ', eventId),
    h(
      'section',
      { class: 'page-head' },
      h('div', {}, title, meta),
      h(
        'div',
        { class: 'page-actions' },
        stream.indicator,
        trackPicker,
        h('a', { href: newReplayHref(eventId), class: 'button', 'data-testid': 'new-replay' }, 'New replay'),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Timeline'), summary),
      h('div', { class: 'card-body' }, timeline),
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'section',
        { class: 'card' },
        h('header', { class: 'card-head' }, h('h2', {}, 'Segments')),
        h('div', { class: 'card-body flush' }, list),
      ),
      h(
        'section',
        { class: 'card' },
        h('header', { class: 'card-head' }, h('h2', {}, 'Clip')),
        h('div', { class: 'card-body' }, detail),
      ),
    ),
  );

  void (async () => {
    const [event, segments] = await Promise.allSettled([api.event(eventId), api.segments(eventId)]);
    if (stopped) return;
    if (event.status === 'fulfilled') {
      state.event = state.event ?? event.value;
      const tracks = event.value.audio_tracks ?? [];
      if (track === null && tracks.length > 0 && tracks[0] !== undefined) state.track = tracks[0];
    }
    if (segments.status === 'fulfilled') {
      // The stream's first message may have come already: it is newer.
      if (!state.streamed) state.segments = sortSegments(segments.value.segments ?? []);
    } else {
      showError(segments.reason, `Loading the segments of ${eventId}`);
      summary.textContent = 'Could not load the segments.';
    }
    if (event.status === 'rejected' && !(event.reason instanceof ApiError && event.reason.status === 404)) {
      showError(event.reason, `Loading event ${eventId}`);
    }
    render();
  })();

  function select(start: number): void {
    state.selected = start;
    history.replaceState(null, '', eventHref(eventId, start, state.track));
    render();
  }

  function renderHead(): void {
    const event = state.event;
    title.textContent = event?.title || eventId;
    fill(
      meta,
      event ? statusBadge(event.status) : null,
      h('span', {}, h('span', { class: 'muted' }, 'id '), eventId),
      event?.program ? h('span', {}, h('span', { class: 'muted' }, 'program '), event.program) : null,
      event?.profile ? h('span', {}, h('span', { class: 'muted' }, 'profile '), event.profile) : null,
      event?.frame_rate ? h('span', {}, h('span', { class: 'muted' }, 'frame rate '), `${event.frame_rate} fps`) : null,
    );
    const tracks = trackList();
    if (tracks.length > 1) {
      const selectEl = h(
        'select',
        {
          'aria-label': 'Audio track',
          onchange: (e: Event) => {
            state.track = Number((e.target as HTMLSelectElement).value);
            history.replaceState(null, '', eventHref(eventId, state.selected ?? undefined, state.track));
            render();
          },
        },
        tracks.map((t) => h('option', { value: t, selected: t === state.track }, `Track ${t}`)),
      );
      fill(trackPicker, selectEl);
    } else {
      fill(trackPicker);
    }
  }

  function trackList(): number[] {
    const tracks = new Set<number>(state.event?.audio_tracks ?? []);
    for (const seg of state.segments) for (const key of Object.keys(seg.features ?? {})) tracks.add(Number(key));
    if (tracks.size === 0) tracks.add(1);
    return [...tracks].filter(Number.isFinite).sort((a, b) => a - b);
  }

  function render(): void {
    if (state.selected === null) {
      // The first complete segment, so that the clip panel shows something from the start.
      const first = state.segments.find((s) => s.complete) ?? state.segments[0];
      if (first) state.selected = first.start;
    }
    renderHead();
    renderTimeline();
    renderList();
    renderDetail();
  }

  function renderTimeline(): void {
    const segments = state.segments;
    const complete = segments.filter((s) => s.complete).length;
    summary.textContent =
      segments.length === 0
        ? 'No segments yet.'
        : `${segments.length} segment${segments.length === 1 ? '' : 's'}, ${complete} complete` +
          (state.changes > 0 ? ` · ${state.changes} live update${state.changes === 1 ? '' : 's'}` : '');
    const span = timelineSpan(segments);
    const step = tickStep(span);
    const ticks: HTMLElement[] = [];
    for (let t = 0; t <= span + 1e-9; t += step) {
      ticks.push(h('span', { class: 'tick', style: `left:${(t / span) * 100}%` }, clock(t).replace(/\.0$/, '')));
    }
    const lanes = assignLanes(segments, span);
    const laneCount = Math.max(1, ...lanes.map((l) => l + 1));
    const blocks = segments.map((seg, i) => {
      const end = seg.end ?? span;
      const left = (seg.start / span) * 100;
      const width = Math.max(((end - seg.start) / span) * 100, 0.4);
      const verdict = seg.feedback?.[String(state.track)];
      const features = seg.features?.[String(state.track)] ?? [];
      const classes = ['seg'];
      if (!seg.complete) classes.push('seg-open');
      if (verdict) classes.push(`seg-${verdict}`);
      if (state.selected !== null && sameTime(seg.start, state.selected)) classes.push('seg-selected');
      classes.push(`seg-heat-${heat(features)}`);
      return h(
        'button',
        {
          type: 'button',
          class: classes.join(' '),
          style: `left:${left}%;width:${width}%;top:${(lanes[i] ?? 0) * 34 + 4}px`,
          title: `${clock(seg.start)} – ${clock(seg.end)}${seg.label ? ' · ' + seg.label : ''}\n${features
            .map((f) => `${f.attribute}=${String(f.value)}`)
            .join(', ')}`,
          'data-testid': 'segment-block',
          'data-start': seg.start,
          onclick: () => select(seg.start),
        },
        h('span', { class: 'seg-label' }, [clock(seg.start), seg.label || namedFeature(features)].filter(Boolean).join(' · ')),
      );
    });
    fill(
      timeline,
      h('div', { class: 'timeline-lanes', style: `height:${laneCount * 34 + 8}px` }, blocks),
      h('div', { class: 'timeline-axis' }, ticks),
    );
  }

  function renderList(): void {
    const track = String(state.track);
    if (state.segments.length === 0) {
      fill(list, h('p', { class: 'muted pad' }, 'No segments yet.'));
      return;
    }
    fill(
      list,
      state.segments.map((seg) => {
        const verdict = seg.feedback?.[track];
        const selected = state.selected !== null && sameTime(seg.start, state.selected);
        return h(
          'button',
          {
            type: 'button',
            class: `segment-row${selected ? ' selected' : ''}`,
            'data-testid': 'segment-row',
            'data-start': seg.start,
            'data-feedback': verdict ?? '',
            onclick: () => select(seg.start),
          },
          h(
            'div',
            { class: 'segment-row-head' },
            h('span', { class: 'time' }, `${clock(seg.start)} – ${seg.end === null ? 'open' : clock(seg.end)}`),
            seg.label ? h('span', { class: 'label' }, seg.label) : null,
            !seg.complete ? h('span', { class: 'badge badge-started' }, 'open') : null,
            verdict ? h('span', { class: `verdict verdict-${verdict}`, 'data-testid': 'verdict' }, verdict === 'like' ? '▲ liked' : '▼ disliked') : null,
          ),
          h('div', { class: 'chips' }, featureChips(seg.features?.[track] ?? [])),
        );
      }),
    );
    const sel = list.querySelector('.segment-row.selected');
    if (sel instanceof HTMLElement && !state.scrolled) {
      sel.scrollIntoView({ block: 'nearest' });
      state.scrolled = true;
    }
  }

  let mediaKey = '';
  const detailInfo = h('div', { class: 'detail-info' });
  const detailMedia = h('div', { class: 'detail-media' });

  function renderDetail(): void {
    const seg = state.selected === null ? undefined : state.segments.find((s) => sameTime(s.start, state.selected ?? -1));
    if (!seg) {
      mediaKey = '';
      fill(
        detail,
        h('p', { class: 'muted' }, state.segments.length === 0 ? 'Waiting for segments.' : 'Select a segment on the timeline or in the list.'),
      );
      return;
    }
    if (!detail.contains(detailInfo)) fill(detail, detailMedia, detailInfo);
    const track = String(state.track);
    const trackClips = seg.clips?.[track];
    const clip: RenderedClipDoc | null | undefined = trackClips?.optimized ?? trackClips?.original;
    const key = clip ? `${clip.mp4}|${clip.thumbnail ?? ''}` : `none|${trackClips?.error ?? ''}`;
    if (key !== mediaKey) {
      mediaKey = key;
      if (clip) {
        const thumb = clip.thumbnail ? fileUrl(clip.thumbnail) : undefined;
        fill(
          detailMedia,
          h(
            'video',
            { class: 'player', controls: true, preload: 'metadata', playsinline: true, poster: thumb, src: fileUrl(clip.mp4), 'data-testid': 'clip-video' },
          ),
          h(
            'div',
            { class: 'clip-files' },
            thumb ? h('img', { class: 'thumb', src: thumb, alt: `Thumbnail of the clip at ${clock(seg.start)}`, 'data-testid': 'clip-thumbnail' }) : null,
            h(
              'div',
              { class: 'small' },
              h('div', {}, h('span', { class: 'muted' }, trackClips?.optimized ? 'optimized clip ' : 'clip '), `${clock(clip.start)} – ${clock(clip.end)}`),
              h('div', {}, h('a', { href: fileUrl(clip.mp4), download: '' }, 'Download MP4')),
            ),
          ),
        );
      } else {
        fill(
          detailMedia,
          h(
            'div',
            { class: 'no-clip' },
            trackClips?.error ? h('span', { class: 'warn' }, `Clip failed: ${trackClips.error}`) : seg.complete ? 'No rendered clip yet.' : 'The segment is still open.',
          ),
        );
      }
    }
    const verdict = seg.feedback?.[track];
    const opto = seg.optimizations?.[track];
    const send = (v: 'like' | 'dislike' | 'reset') => async () => {
      try {
        await api.feedback({ event_id: eventId, start: seg.start, track: state.track, verdict: v });
        clearError();
        toast(v === 'reset' ? 'Feedback cleared' : v === 'like' ? 'Liked' : 'Disliked');
      } catch (e) {
        showError(e, 'Sending feedback');
      }
    };
    fill(
      detailInfo,
      h(
        'div',
        { class: 'detail-head' },
        h('strong', { 'data-testid': 'selected-range' }, `${clock(seg.start)} – ${seg.end === null ? 'open' : clock(seg.end)}`),
        seg.end !== null ? h('span', { class: 'muted' }, duration(seg.end - seg.start)) : null,
        seg.label ? h('span', { class: 'label' }, seg.label) : null,
        statusBadge(seg.complete ? 'complete' : 'open'),
      ),
      opto ? h('div', { class: 'small' }, h('span', { class: 'muted' }, 'optimized '), `${clock(opto.opto_start)} – ${clock(opto.opto_end)}`) : null,
      seg.plugin ? h('div', { class: 'small' }, h('span', { class: 'muted' }, 'classifier '), seg.plugin) : null,
      h('div', { class: 'chips' }, featureChips(seg.features?.[track] ?? [])),
      h(
        'div',
        { class: 'feedback' },
        h(
          'button',
          { type: 'button', class: `button like${verdict === 'like' ? ' active' : ''}`, 'aria-pressed': verdict === 'like' ? 'true' : 'false', 'data-testid': 'like', onclick: send('like') },
          '▲ Like',
        ),
        h(
          'button',
          { type: 'button', class: `button dislike${verdict === 'dislike' ? ' active' : ''}`, 'aria-pressed': verdict === 'dislike' ? 'true' : 'false', 'data-testid': 'dislike', onclick: send('dislike') },
          '▼ Dislike',
        ),
        verdict ? h('button', { type: 'button', class: 'button button-quiet', 'data-testid': 'reset-feedback', onclick: send('reset') }, 'Clear') : null,
        h('span', { class: 'muted small', 'data-testid': 'feedback-state' }, verdict ? `${verdict}d on track ${track}` : `no feedback on track ${track}`),
      ),
    );
  }

  return () => {
    stopped = true;
    stream.close();
    detail.querySelectorAll('video').forEach((v) => {
      v.pause();
      v.removeAttribute('src');
      v.load();
    });
  };
}

/** The first feature with a text value (`Excitement=high`), for a timeline block. */
function namedFeature(features: FeatureDoc[]): string {
  const f = features.find((x) => typeof x.value === 'string');
  return f ? `${f.attribute}=${String(f.value)}` : '';
}

function featureChips(features: FeatureDoc[]): HTMLElement[] {
  if (features.length === 0) return [h('span', { class: 'muted small' }, 'no features')];
  return features.map((f) => chip(f));
}

const ms = (seconds: number): number => Math.round(seconds * 1000);

function sortSegments(segments: SegmentDoc[]): SegmentDoc[] {
  return [...segments].sort((a, b) => a.start - b.start);
}

/** The segments after a change: `changed` replace those with the same start, `removed` go. */
function mergeSegments(current: SegmentDoc[], changed: SegmentDoc[], removed: number[]): SegmentDoc[] {
  const byStart = new Map<number, SegmentDoc>();
  for (const seg of current) byStart.set(ms(seg.start), seg);
  for (const start of removed) byStart.delete(ms(start));
  for (const seg of changed) byStart.set(ms(seg.start), seg);
  return sortSegments([...byStart.values()]);
}

function sameTime(a: number, b: number): boolean {
  return Math.abs(a - b) < 0.0005;
}

function timelineSpan(segments: SegmentDoc[]): number {
  let max = 0;
  for (const s of segments) max = Math.max(max, s.end ?? s.start, s.start);
  return Math.max(10, Math.ceil(max * 1.02));
}

function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  return steps.find((s) => span / s <= 12) ?? 14400;
}

/** Lanes so that overlapping segments do not cover each other. */
function assignLanes(segments: SegmentDoc[], span: number): number[] {
  const laneEnds: number[] = [];
  return segments.map((seg) => {
    const end = seg.end ?? span;
    let lane = laneEnds.findIndex((e) => e <= seg.start + 1e-6);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(end);
    } else {
      laneEnds[lane] = end;
    }
    return lane;
  });
}

/** 0..3: how much a segment has going for it, for its colour on the timeline: its best
 * high/medium/low value, else 1 when it has any feature. */
function heat(features: FeatureDoc[]): number {
  let best = 0;
  for (const f of features) {
    const v = typeof f.value === 'string' ? f.value.toLowerCase() : null;
    if (v === 'high') best = Math.max(best, 3);
    else if (v === 'medium') best = Math.max(best, 2);
    else if (v === 'low') best = Math.max(best, 1);
  }
  return best > 0 ? best : features.length > 0 ? 1 : 0;
}
