// The documents the engine's HTTP API serves (see schemas/record-schema.json, "outputs").
// Times are seconds of event time. Fields the console does not read are left out or loose.

export type AttrValue = string | number | boolean;

export interface FeatureDoc {
  plugin?: string;
  attribute: string;
  value: AttrValue;
  track?: number;
}

export interface EventDoc {
  event_id: string;
  program?: string | null;
  profile?: string | null;
  profile_known?: boolean;
  status?: string;
  frame_rate?: number | null;
  audio_tracks?: number[] | null;
  title?: string | null;
  extra?: unknown;
  playlists?: Record<string, string> | null;
  failed_chunks?: unknown[] | null;
  /** The number of segments (in the events list). */
  segments?: number;
}

/** An entry of `GET /api/v1/events`: the engine nests the event's view under `event` (null
 * when only segments or detections name the event); a flat EventDoc is taken as well. */
export interface EventListEntry extends Partial<EventDoc> {
  event_id: string;
  event?: EventDoc | null;
  segments?: number;
  version?: number;
}

export interface EventsList {
  epoch?: number;
  events: EventListEntry[];
}

export interface RenderedClipDoc {
  requested_start: number;
  requested_end: number;
  start: number;
  end: number;
  mp4: string;
  thumbnail?: string | null;
  reencoded?: boolean;
}

export interface TrackClipsDoc {
  original?: RenderedClipDoc | null;
  optimized?: RenderedClipDoc | null;
  error?: string | null;
}

export interface OptoDoc {
  opto_start: number;
  opto_end: number;
}

export interface SegmentDoc {
  start: number;
  end: number | null;
  complete: boolean;
  plugin?: string;
  attributes?: Record<string, AttrValue>;
  label?: string | null;
  label_plugin?: string | null;
  label_attributes?: Record<string, AttrValue>;
  /** Per track (keys are track numbers). */
  optimizations?: Record<string, OptoDoc>;
  /** Per track (keys are track numbers). */
  features?: Record<string, FeatureDoc[]>;
  /** Per track: "like" or "dislike". */
  feedback?: Record<string, string>;
  /** Rendered clips per track. */
  clips?: Record<string, TrackClipsDoc>;
}

export interface SegmentsDoc {
  event_id: string;
  segments: SegmentDoc[];
}

/** A message of `GET /api/v1/events/{id}/changes`. The snapshot has every segment; a change
 * has the segments that are new or changed and the starts of those `removed` (a message
 * without `removed` is taken as the whole list). `event` is the event's view when it changed. */
export interface EventStreamDoc {
  event_id: string;
  version?: number;
  event?: EventDoc | null;
  segments?: SegmentDoc[];
  removed?: number[];
}

export interface EventFeature {
  attribute: string;
  value: AttrValue;
  plugin?: string | null;
  /** How many live segments have it. */
  segments?: number;
}

export interface FeaturesDoc {
  event_id: string;
  features: EventFeature[];
}

export interface ReplaySummary {
  replay_id: string;
  event_id: string;
  version: number;
  status: string;
  mode: string;
  clips?: number;
  total_duration?: number;
}

export interface ReplaysList {
  epoch?: number;
  replays: ReplaySummary[];
}

export interface ClipDoc {
  start: number;
  end: number;
  clip_start: number;
  clip_end: number;
  score?: number | null;
  forced: boolean;
  features: FeatureDoc[];
}

export interface RenditionDoc {
  resolution: string;
  width: number;
  height: number;
  mp4?: string | null;
  playlist?: string | null;
}

export interface RenderedReplayDoc {
  version: number;
  status: string;
  error?: string | null;
  duration?: number | null;
  master?: string | null;
  thumbnail?: string | null;
  renditions: RenditionDoc[];
}

export interface SelectionDoc {
  replay_id: string;
  event_id: string;
  version: number;
  status: string;
  mode: string;
  track: number;
  total_duration: number;
  total_score?: number | null;
  clips: ClipDoc[];
  rendered?: RenderedReplayDoc | null;
}

export interface PriorityRecord {
  attribute: string;
  value?: AttrValue | null;
  weight?: number;
  plugin?: string | null;
  include?: boolean;
}

export interface ReplayRequest {
  replay_id: string;
  event_id: string;
  mode: 'duration' | 'features' | 'timestamps';
  catchup: boolean;
  duration?: number;
  tolerance?: number;
  track: number;
  equal_distribution?: boolean;
  include_liked?: boolean;
  ignore_disliked?: boolean;
  priorities?: PriorityRecord[];
  timestamps?: { start: number; end: number }[];
  render?: { mp4: boolean; hls: boolean; resolutions: string[] };
}

export interface FeedbackRequest {
  event_id: string;
  start: number;
  track: number;
  verdict: 'like' | 'dislike' | 'reset';
}

/** The error body of every 4xx/5xx answer. */
export interface ApiErrorBody {
  message: string;
  error_code: string;
  details?: unknown;
}
