// `#/replays/new?event={id}`: a replay request. The priorities are chosen from the features the
// event has actually seen (`GET /api/v1/events/{id}/features`), each with a weight 1..100.

import { api } from '../api';
import { clearError, fill, h, showError, valueText } from '../dom';
import { eventHref, homeHref, newReplayHref, replayHref } from '../routes';
import type { EventDoc, EventFeature, PriorityRecord, ReplayRequest } from '../types';

const RESOLUTIONS = ['360p', '480p', '720p', '1080p'];
type Mode = ReplayRequest['mode'];

export function replayFormView(root: HTMLElement, eventId: string | null): () => void {
  let stopped = false;
  const eventPicker = h('div', { class: 'field' });
  const priorityBox = h('div', { class: 'priorities', 'data-testid': 'priorities' }, h('p', { class: 'muted' }, eventId ? 'Loading features…' : 'Choose an event first.'));
  const trackSelect = h('select', { name: 'track', id: 'f-track' }, h('option', { value: '1' }, 'Track 1'));
  const idInput = h('input', {
    name: 'replay_id',
    id: 'f-replay-id',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    value: eventId ? `${eventId}-${stamp()}` : '',
    'data-testid': 'replay-id',
  });
  const durationInput = h('input', { type: 'number', name: 'duration', id: 'f-duration', min: 1, max: 10000, step: 'any', value: 60, 'data-testid': 'duration' });
  const toleranceInput = h('input', { type: 'number', name: 'tolerance', id: 'f-tolerance', min: 0, max: 10000, step: 'any', value: 10, 'data-testid': 'tolerance' });
  const catchup = h('input', { type: 'checkbox', name: 'catchup', checked: true, 'data-testid': 'catchup' });
  const equal = h('input', { type: 'checkbox', name: 'equal_distribution' });
  const includeLiked = h('input', { type: 'checkbox', name: 'include_liked', checked: true, 'data-testid': 'include-liked' });
  const ignoreDisliked = h('input', { type: 'checkbox', name: 'ignore_disliked', checked: true });
  const timestamps = h('textarea', { name: 'timestamps', id: 'f-timestamps', rows: 4, placeholder: '12.5 - 20\n47 - 58.2', 'data-testid': 'timestamps' });
  const hls = h('input', { type: 'checkbox', name: 'hls', checked: true });
  const mp4 = h('input', { type: 'checkbox', name: 'mp4', checked: true });
  const resolutionBoxes = RESOLUTIONS.map((r) => h('input', { type: 'checkbox', name: 'resolution', value: r, checked: r === '720p', 'data-testid': `resolution-${r}` }));
  const modeRadios = (['duration', 'features', 'timestamps'] as Mode[]).map((m) =>
    h('input', { type: 'radio', name: 'mode', value: m, checked: m === 'duration', 'data-testid': `mode-${m}`, onchange: () => updateMode() }),
  );
  const durationFields = h(
    'div',
    { class: 'row' },
    h('label', { class: 'field' }, h('span', {}, 'Duration (s)'), durationInput),
    h('label', { class: 'field' }, h('span', {}, 'Tolerance (s)'), toleranceInput),
  );
  const timestampFields = h('label', { class: 'field', hidden: true }, h('span', {}, 'Clips (one "start - end" in seconds per line)'), timestamps);
  const priorityCard = h(
    'fieldset',
    { class: 'group' },
    h('legend', {}, 'Priorities'),
    h('p', { class: 'muted small' }, 'The features this event has seen. Check the ones the replay looks for; in duration mode each weighs 1..100.'),
    priorityBox,
  );
  const submit = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'submit-replay' }, 'Create replay');

  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'data-testid': 'replay-form', onsubmit: (e: Event) => void onSubmit(e) },
    h('header', { class: 'card-head' }, h('h2', {}, 'New replay')),
    h(
      'div',
      { class: 'card-body' },
      h(
        'div',
        { class: 'row' },
        eventPicker,
        h('label', { class: 'field' }, h('span', {}, 'Replay id'), idInput),
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Mode'),
        h(
          'div',
          { class: 'radios' },
          modeRadios.map((radio) =>
            h('label', { class: 'check' }, radio, h('span', {}, { duration: 'Duration budget', features: 'Every segment with a feature', timestamps: 'Given time ranges' }[radio.value as Mode])),
          ),
        ),
        durationFields,
        timestampFields,
      ),
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Options'),
        h(
          'div',
          { class: 'row' },
          h('label', { class: 'field' }, h('span', {}, 'Audio track'), trackSelect),
          h(
            'div',
            { class: 'checks' },
            h('label', { class: 'check' }, catchup, h('span', {}, 'Catch-up (maintained while the event runs)')),
            h('label', { class: 'check' }, includeLiked, h('span', {}, 'Always include liked segments')),
            h('label', { class: 'check' }, ignoreDisliked, h('span', {}, 'Never include disliked segments')),
            h('label', { class: 'check' }, equal, h('span', {}, 'Spread evenly over the event')),
          ),
        ),
      ),
      priorityCard,
      h(
        'fieldset',
        { class: 'group' },
        h('legend', {}, 'Rendering'),
        h('div', { class: 'checks inline' }, resolutionBoxes.map((box) => h('label', { class: 'check' }, box, h('span', {}, box.value)))),
        h(
          'div',
          { class: 'checks inline' },
          h('label', { class: 'check' }, hls, h('span', {}, 'HLS')),
          h('label', { class: 'check' }, mp4, h('span', {}, 'MP4')),
        ),
        h('p', { class: 'muted small' }, 'No resolution checked: the replay is selected but not rendered.'),
      ),
    ),
    h('footer', { class: 'card-foot' }, h('a', { href: eventId ? eventHref(eventId) : homeHref(), class: 'button button-quiet' }, 'Cancel'), submit),
  );

  fill(root, h('nav', { class: 'crumbs' }, h('a', { href: homeHref() }, 'Events'), eventId ? [' / ', h('a', { href: eventHref(eventId) }, eventId)] : null, ' / new replay'), form);

  let priorities: { feature: EventFeature; box: HTMLInputElement; weight: HTMLInputElement }[] = [];

  function updateMode(): void {
    const mode = currentMode();
    durationFields.hidden = mode !== 'duration';
    timestampFields.hidden = mode !== 'timestamps';
    priorityCard.hidden = mode === 'timestamps';
    for (const p of priorities) p.weight.disabled = mode !== 'duration';
  }

  function currentMode(): Mode {
    return (modeRadios.find((r) => r.checked)?.value as Mode | undefined) ?? 'duration';
  }

  async function loadEvents(): Promise<void> {
    if (eventId) {
      fill(eventPicker, h('span', { class: 'field-label' }, 'Event'), h('a', { href: eventHref(eventId), class: 'strong', 'data-testid': 'form-event' }, eventId));
      return;
    }
    try {
      const events = await api.events();
      if (stopped) return;
      const select = h(
        'select',
        { 'data-testid': 'form-event-select', onchange: (e: Event) => (location.hash = newReplayHref((e.target as HTMLSelectElement).value)) },
        h('option', { value: '' }, 'Choose an event…'),
        events.events.map((ev) => h('option', { value: ev.event_id }, ev.title ? `${ev.title} (${ev.event_id})` : ev.event_id)),
      );
      fill(eventPicker, h('label', { class: 'field' }, h('span', {}, 'Event'), select));
    } catch (e) {
      showError(e, 'Loading the events');
    }
  }

  async function loadEvent(id: string): Promise<void> {
    const [event, features] = await Promise.allSettled([api.event(id), api.features(id)]);
    if (stopped) return;
    if (event.status === 'fulfilled') fillTracks(event.value);
    if (features.status === 'fulfilled') {
      fillPriorities(features.value.features ?? []);
    } else {
      showError(features.reason, `Loading the features of ${id}`);
      fill(priorityBox, h('p', { class: 'warn' }, 'Could not load the features.'));
    }
  }

  function fillTracks(event: EventDoc): void {
    const tracks = event.audio_tracks && event.audio_tracks.length > 0 ? event.audio_tracks : [1];
    fill(trackSelect, tracks.map((t) => h('option', { value: t }, `Track ${t}`)));
  }

  function fillPriorities(features: EventFeature[]): void {
    const sorted = [...features].sort(
      (a, b) => a.attribute.localeCompare(b.attribute) || valueText(a.value).localeCompare(valueText(b.value)) || (a.plugin ?? '').localeCompare(b.plugin ?? ''),
    );
    if (sorted.length === 0) {
      fill(priorityBox, h('p', { class: 'muted' }, 'The event has no features yet.'));
      priorities = [];
      return;
    }
    priorities = sorted.map((feature) => ({
      feature,
      box: h('input', { type: 'checkbox', 'data-testid': 'priority-check' }),
      weight: h('input', { type: 'number', min: 1, max: 100, step: 1, value: defaultWeight(feature), class: 'weight', 'aria-label': `Weight of ${feature.attribute}=${valueText(feature.value)}`, 'data-testid': 'priority-weight' }),
    }));
    const option = ({ feature, box, weight }: (typeof priorities)[number]) =>
      h(
        'div',
        { class: 'priority', 'data-testid': 'priority-option', 'data-attribute': feature.attribute, 'data-value': valueText(feature.value), 'data-plugin': feature.plugin ?? '' },
        h(
          'label',
          { class: 'check' },
          box,
          h(
            'span',
            { class: 'priority-text' },
            h('span', { class: 'chip' }, h('span', { class: 'chip-attr' }, feature.attribute), h('span', { class: 'chip-value' }, '=' + valueText(feature.value))),
            h(
              'span',
              { class: 'muted small' },
              feature.plugin ?? 'any plugin',
              feature.segments === undefined ? null : ` · ${feature.segments} segment${feature.segments === 1 ? '' : 's'}`,
            ),
          ),
        ),
        h('label', { class: 'weight-field' }, h('span', { class: 'muted small' }, 'weight'), weight),
      );
    // Labels and flags first; measurements (numbers) are rarely what a replay looks for, so
    // they wait behind a disclosure.
    const named = priorities.filter((p) => typeof p.feature.value !== 'number');
    const numeric = priorities.filter((p) => typeof p.feature.value === 'number');
    fill(
      priorityBox,
      h('div', { class: 'priority-grid' }, named.map(option)),
      numeric.length === 0
        ? null
        : h(
            'details',
            { class: 'more', open: named.length === 0 },
            h('summary', {}, `${numeric.length} numeric feature${numeric.length === 1 ? '' : 's'}`),
            h('div', { class: 'priority-grid' }, numeric.map(option)),
          ),
    );
    updateMode();
  }

  function request(): ReplayRequest | string {
    const target = eventId;
    if (!target) return 'Choose an event.';
    const replayId = idInput.value.trim();
    if (!replayId) return 'The replay needs an id.';
    const mode = currentMode();
    const req: ReplayRequest = {
      replay_id: replayId,
      event_id: target,
      mode,
      catchup: catchup.checked,
      track: Number(trackSelect.value) || 1,
      include_liked: includeLiked.checked,
      ignore_disliked: ignoreDisliked.checked,
    };
    if (mode === 'duration') {
      const d = Number(durationInput.value);
      const t = Number(toleranceInput.value);
      if (!(d > 0)) return 'The duration must be a number of seconds above 0.';
      req.duration = d;
      if (toleranceInput.value !== '' && Number.isFinite(t)) req.tolerance = t;
      req.equal_distribution = equal.checked;
    }
    if (mode !== 'timestamps') {
      const chosen = priorities.filter((p) => p.box.checked);
      if (chosen.length === 0) return 'Check at least one priority.';
      req.priorities = chosen.map(({ feature, weight }) => {
        const p: PriorityRecord = { attribute: feature.attribute, value: feature.value };
        if (feature.plugin) p.plugin = feature.plugin;
        if (mode === 'duration') {
          const w = Math.round(Number(weight.value));
          p.weight = Number.isFinite(w) ? Math.min(100, Math.max(1, w)) : 50;
        } else {
          p.include = true;
        }
        return p;
      });
    } else {
      const ranges: { start: number; end: number }[] = [];
      for (const line of timestamps.value.split('\n')) {
        if (line.trim() === '') continue;
        const m = /^\s*([0-9.]+)\s*(?:-|–|\s)\s*([0-9.]+)\s*$/.exec(line);
        if (!m) return `Not a "start - end" line: ${line}`;
        ranges.push({ start: Number(m[1]), end: Number(m[2]) });
      }
      if (ranges.length === 0) return 'Give at least one time range.';
      req.timestamps = ranges;
    }
    const resolutions = resolutionBoxes.filter((b) => b.checked).map((b) => b.value);
    if (resolutions.length > 0) {
      if (!hls.checked && !mp4.checked) return 'Check HLS or MP4 (or no resolution).';
      req.render = { mp4: mp4.checked, hls: hls.checked, resolutions };
    }
    return req;
  }

  async function onSubmit(e: Event): Promise<void> {
    e.preventDefault();
    const req = request();
    if (typeof req === 'string') {
      showError(new Error(req), 'The replay form');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      await api.createReplay(req);
      clearError();
      location.hash = replayHref(req.replay_id);
    } catch (err) {
      showError(err, 'Creating the replay');
    } finally {
      submit.disabled = false;
      submit.textContent = 'Create replay';
    }
  }

  void loadEvents();
  if (eventId) void loadEvent(eventId);
  updateMode();

  return () => {
    stopped = true;
  };
}

function defaultWeight(feature: EventFeature): number {
  const v = typeof feature.value === 'string' ? feature.value.toLowerCase() : feature.value;
  if (v === 'high') return 90;
  if (v === 'medium') return 50;
  if (v === 'low') return 10;
  return 50;
}

function stamp(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `replay-${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}
