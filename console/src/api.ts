// The engine's HTTP API, on the console's own origin. Errors come back as
// `{message, error_code, details}` and are thrown as ApiError for the error banner.

import type {
  ApiErrorBody,
  EventDoc,
  EventsList,
  FeaturesDoc,
  FeedbackRequest,
  ReplayRequest,
  ReplaysList,
  SegmentsDoc,
  SelectionDoc,
} from './types';

const TOKEN_KEY = 'reeltime.token';

export class ApiError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly details: unknown;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.errorCode = body.error_code;
    this.details = body.details;
  }
}

export function getToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage unavailable (private mode): the token lasts for this page only.
  }
}

/** `a/b c/d.mp4` → `/api/v1/files/a/b%20c/d.mp4`; each path segment is encoded, so the `%XX`
 * of escaped ids in the output directory's folder names reach the server as written. */
export function fileUrl(path: string): string {
  return '/api/v1/files/' + path.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/');
}

const id = encodeURIComponent;

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers['Authorization'] = `Bearer ${token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, {
      message: `cannot reach the engine: ${e instanceof Error ? e.message : String(e)}`,
      error_code: 'network_error',
      details: { method, path },
    });
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    if (isErrorBody(parsed)) {
      throw new ApiError(response.status, {
        message: parsed.message,
        error_code: typeof parsed.error_code === 'string' ? parsed.error_code : `http_${response.status}`,
        details: parsed.details,
      });
    }
    throw new ApiError(response.status, {
      message: `${method} ${path}: ${response.status} ${response.statusText}`,
      error_code: `http_${response.status}`,
      details: text === '' ? null : text.slice(0, 2000),
    });
  }
  return parsed as T;
}

export const api = {
  events: () => request<EventsList>('GET', '/api/v1/events'),
  event: (eventId: string) => request<EventDoc>('GET', `/api/v1/events/${id(eventId)}`),
  segments: (eventId: string) => request<SegmentsDoc>('GET', `/api/v1/events/${id(eventId)}/segments`),
  features: (eventId: string) => request<FeaturesDoc>('GET', `/api/v1/events/${id(eventId)}/features`),
  replays: () => request<ReplaysList>('GET', '/api/v1/replays'),
  replay: (replayId: string) => request<SelectionDoc>('GET', `/api/v1/replays/${id(replayId)}`),
  createReplay: (replay: ReplayRequest) => request<unknown>('POST', '/api/v1/replays', replay),
  deleteReplay: (replayId: string) => request<unknown>('DELETE', `/api/v1/replays/${id(replayId)}`),
  feedback: (feedback: FeedbackRequest) => request<unknown>('POST', '/api/v1/feedback', feedback),
};

export const streams = {
  event: (eventId: string) => `/api/v1/events/${id(eventId)}/changes`,
  replay: (replayId: string) => `/api/v1/replays/${id(replayId)}/changes`,
};
