// A small DOM builder, formatting helpers and the error banner.

import { ApiError } from './api';
import type { AttrValue, FeatureDoc } from './types';

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child)`. Attributes whose value is
 * null, undefined or false are left out; `on*` functions become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(key.replace(/^on/, ''), value);
    } else if (key === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (key === 'checked' && el instanceof HTMLInputElement) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Seconds as `m:ss.s` (or `h:mm:ss.s`). */
export function clock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const neg = seconds < 0;
  let s = Math.abs(seconds);
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const sec = s.toFixed(1).padStart(4, '0');
  const body = hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${sec}` : `${minutes}:${sec}`;
  return neg ? `-${body}` : body;
}

/** A duration in seconds: `42.5 s`, `2 min 5 s`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${round3(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${round3(seconds - minutes * 60).toFixed(0)} s`;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function valueText(value: AttrValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A feature chip: `attribute=value`, the plugin in its tooltip. */
export function chip(feature: FeatureDoc | { attribute: string; value: AttrValue; plugin?: string | null }): HTMLElement {
  const title = feature.plugin ? `${feature.plugin}: ${feature.attribute}=${valueText(feature.value)}` : undefined;
  return h(
    'span',
    { class: 'chip', title, 'data-attribute': feature.attribute, 'data-value': valueText(feature.value) },
    h('span', { class: 'chip-attr' }, feature.attribute),
    h('span', { class: 'chip-value' }, '=' + valueText(feature.value)),
  );
}

export function statusBadge(status: string | null | undefined): HTMLElement {
  const s = status ?? 'unknown';
  return h('span', { class: `badge badge-${s.replace(/[^a-z_]/gi, '')}`, 'data-testid': 'status' }, s.replace(/_/g, ' '));
}

// The error banner at the top of the page.

let banner: HTMLElement | null = null;

export function mountBanner(el: HTMLElement): void {
  banner = el;
}

export function showError(error: unknown, context?: string): void {
  if (!banner) return;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.errorCode : 'error';
  const details = error instanceof ApiError ? error.details : undefined;
  fill(
    banner,
    h(
      'div',
      { class: 'banner-body' },
      h('strong', {}, context ? `${context}: ` : ''),
      h('span', { 'data-testid': 'error-message' }, message),
      ' ',
      h('code', { class: 'error-code', 'data-testid': 'error-code' }, code),
      code === 'unauthorized'
        ? h('button', { type: 'button', class: 'button button-small banner-action', onclick: () => window.dispatchEvent(new Event('reeltime:token')) }, 'Set the API token')
        : null,
      details === undefined || details === null
        ? null
        : h('pre', { class: 'error-details' }, typeof details === 'string' ? details : JSON.stringify(details, null, 2)),
    ),
    h('button', { class: 'banner-close', type: 'button', title: 'Dismiss', onclick: () => clearError() }, '×'),
  );
  banner.hidden = false;
}

export function clearError(): void {
  if (!banner) return;
  banner.hidden = true;
  banner.replaceChildren();
}

/** A short notice at the bottom right that fades by itself. */
export function toast(text: string): void {
  const el = h('div', { class: 'toast', role: 'status' }, text);
  document.body.appendChild(el);
  window.setTimeout(() => el.classList.add('toast-out'), 2500);
  window.setTimeout(() => el.remove(), 3000);
}
