// The reeltime console: a single-page app with hash routes over the engine's HTTP API.

import './style.css';
import { getToken, setToken } from './api';
import { clearError, fill, h, mountBanner, toast } from './dom';
import { homeHref, newReplayHref, parseRoute, type Route } from './routes';
import { eventView } from './views/event';
import { homeView } from './views/home';
import { replayView } from './views/replay';
import { replayFormView } from './views/replayForm';

const app = document.getElementById('app') ?? document.body;
const banner = h('div', { class: 'banner', role: 'alert', hidden: true, 'data-testid': 'error-banner' });
const main = h('main', { class: 'main' });
const tokenButton = h('button', { type: 'button', class: 'button button-quiet button-small', 'aria-expanded': 'false', 'data-testid': 'token-button', onclick: () => toggleToken() });
const tokenInput = h('input', { type: 'password', autocomplete: 'off', placeholder: 'Bearer token', 'aria-label': 'API token', 'data-testid': 'token-input' });
const tokenPanel = h(
  'form',
  {
    class: 'token-panel',
    hidden: true,
    onsubmit: (e: Event) => {
      e.preventDefault();
      saveToken(tokenInput.value.trim());
    },
  },
  h('p', { class: 'small muted' }, 'Sent as Authorization: Bearer … with every request; kept in this browser only.'),
  tokenInput,
  h(
    'div',
    { class: 'token-actions' },
    h('button', { type: 'button', class: 'button button-quiet button-small', onclick: () => saveToken('') }, 'Clear'),
    h('button', { type: 'submit', class: 'button button-primary button-small' }, 'Save'),
  ),
);
const nav = h(
  'nav',
  { class: 'topnav' },
  h('a', { href: homeHref(), 'data-nav': 'home' }, 'Events & replays'),
  h('a', { href: newReplayHref(), 'data-nav': 'newReplay' }, 'New replay'),
);

fill(
  app,
  h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: homeHref() }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '▶'), h('span', { class: 'brand-name' }, 'reeltime')),
    nav,
    h('div', { class: 'topbar-end' }, tokenButton, tokenPanel),
  ),
  banner,
  main,
);
mountBanner(banner);
renderTokenButton();

function renderTokenButton(): void {
  tokenButton.textContent = getToken() ? 'API token ✓' : 'API token';
  tokenButton.title = getToken() ? 'A bearer token is sent with every request' : 'Set the bearer token for control requests';
}

function toggleToken(open = tokenPanel.hidden): void {
  tokenPanel.hidden = !open;
  tokenButton.setAttribute('aria-expanded', String(open));
  if (open) {
    tokenInput.value = getToken();
    tokenInput.focus();
  }
}

function saveToken(token: string): void {
  setToken(token);
  renderTokenButton();
  toggleToken(false);
  toast(token ? 'Token saved' : 'Token cleared');
}

// The banner's "Set the API token" (after an `unauthorized` answer) opens the panel.
window.addEventListener('reeltime:token', () => toggleToken(true));

let cleanup: (() => void) | null = null;
let lastHash: string | null = null;

function route(): void {
  if (location.hash === lastHash) return;
  lastHash = location.hash;
  cleanup?.();
  cleanup = null;
  clearError();
  const r: Route = parseRoute(location.hash);
  for (const link of nav.querySelectorAll('a')) {
    link.classList.toggle('active', link.dataset['nav'] === r.kind || (link.dataset['nav'] === 'home' && r.kind === 'event'));
  }
  main.dataset['route'] = r.kind;
  switch (r.kind) {
    case 'home':
      document.title = 'reeltime';
      cleanup = homeView(main);
      break;
    case 'event':
      document.title = `${r.eventId} · reeltime`;
      cleanup = eventView(main, r.eventId, r.start, r.track);
      break;
    case 'newReplay':
      document.title = 'New replay · reeltime';
      cleanup = replayFormView(main, r.eventId);
      break;
    case 'replay':
      document.title = `${r.replayId} · reeltime`;
      cleanup = replayView(main, r.replayId);
      break;
    case 'notFound':
      document.title = 'Not found · reeltime';
      fill(main, h('section', { class: 'card' }, h('div', { class: 'card-body' }, h('h2', {}, 'Not found'), h('p', {}, `No page at ${r.path}. `, h('a', { href: homeHref() }, 'Back to the events')))));
      break;
  }
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
