// Server-Sent Events of a document: `snapshot` first, then `change` with the whole document
// after each change (and `removed` for a deleted replay). EventSource reconnects by itself and
// sends Last-Event-ID; the indicator in the page says whether the stream is live.

import { h } from './dom';

export interface LiveHandlers<T> {
  onDocument: (doc: T, kind: 'snapshot' | 'change') => void;
  onRemoved?: () => void;
}

export interface Live {
  /** The "live" indicator to put in the page. */
  readonly indicator: HTMLElement;
  close(): void;
}

export function live<T>(url: string, handlers: LiveHandlers<T>): Live {
  const indicator = h('span', { class: 'live live-connecting', 'data-testid': 'live', title: url }, 'connecting');
  const setState = (state: 'connecting' | 'live' | 'reconnecting' | 'closed') => {
    indicator.className = `live live-${state}`;
    indicator.textContent = state;
  };
  if (typeof EventSource === 'undefined') {
    setState('closed');
    return { indicator, close: () => undefined };
  }
  const source = new EventSource(url);
  const take = (kind: 'snapshot' | 'change') => (event: Event) => {
    const data = (event as MessageEvent<string>).data;
    let doc: T;
    try {
      doc = JSON.parse(data) as T;
    } catch {
      return;
    }
    setState('live');
    handlers.onDocument(doc, kind);
  };
  source.addEventListener('snapshot', take('snapshot'));
  source.addEventListener('change', take('change'));
  source.addEventListener('removed', () => {
    handlers.onRemoved?.();
    source.close();
    setState('closed');
  });
  source.addEventListener('open', () => setState('live'));
  source.addEventListener('error', () => {
    setState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });
  return {
    indicator,
    close: () => {
      source.close();
      setState('closed');
    },
  };
}
