// The console's browser test: Debian's Chromium, headless, driven by playwright-core, against
// a running engine that has been fed the demo log (scripts/console-test does all of that).
//
//   REELTIME_URL          the engine's base URL, e.g. http://127.0.0.1:40123 (required)
//   REELTIME_SCREENSHOTS  where the screenshots go (default ./test-output/screenshots)
//   REELTIME_EVENT        the event to use (default synthetic-match, the demo's)
//   REELTIME_CHROMIUM     the browser (default /usr/bin/chromium)
//
// It opens the console, finds the event, its segments on the timeline, creates a catch-up
// replay from the form with priorities among the features offered, watches the replay page
// take it live, likes a segment's clip on the event page (in a second tab), sees the replay
// page (not reloaded) move to a newer version with that clip forced, and plays the rendered
// replay through hls.js. Every wait is on a condition with a bound (no fixed sleeps); any
// failure exits non-zero with the step that failed, a screenshot of it and the page's errors.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { chromium } from 'playwright-core';

const STEP_MS = 60_000;
// Rendering a replay version waits behind the renders queued before it (one at a time), which
// on a busy 2-core machine takes longer than any other step.
const RENDER_MS = 240_000;
const base = (process.env.REELTIME_URL ?? '').replace(/\/+$/, '');
const shots = process.env.REELTIME_SCREENSHOTS || join('test-output', 'screenshots');
const eventId = process.env.REELTIME_EVENT || 'synthetic-match';
const executablePath = process.env.REELTIME_CHROMIUM || '/usr/bin/chromium';

if (!base) {
  console.error('browser test: set REELTIME_URL to the engine, e.g. http://127.0.0.1:8080');
  process.exit(2);
}

/** @type {string[]} */
const pageErrors = [];
/** @type {string[]} */
const consoleErrors = [];
let passed = 0;

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** A CSS attribute selector's value. @param {string | number} value */
const q = (value) => JSON.stringify(String(value));

/**
 * Waits until `probe` returns a value other than undefined/false/null, up to `timeout` ms.
 * @template T
 * @param {string} what
 * @param {() => Promise<T | undefined | null | false>} probe
 * @param {number} [timeout]
 * @returns {Promise<T>}
 */
async function until(what, probe, timeout = STEP_MS) {
  const started = Date.now();
  let delay = 100;
  /** @type {unknown} */
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - started > timeout) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message.split('\n')[0]})` : '';
      throw new Error(`timed out after ${seconds(timeout)} waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function screenshot(page, name) {
  const path = join(shots, `${name}.png`);
  // From the top, so that the sticky header is where it belongs in a full-page picture.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** @type {import('playwright-core').Page | null} */
let currentPage = null;

/**
 * Runs one step with its own bound; on failure saves a screenshot and rethrows with the name.
 * @template T
 * @param {string} name
 * @param {() => Promise<T>} body
 * @param {number} [timeout]
 * @returns {Promise<T>}
 */
async function step(name, body, timeout = STEP_MS) {
  const started = Date.now();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the step took more than ${seconds(timeout + 5000)}`)), timeout + 5000);
  });
  try {
    const value = /** @type {T} */ (await Promise.race([body(), bound]));
    passed += 1;
    console.log(`ok ${passed} - ${name} (${seconds(Date.now() - started)})`);
    return value;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    let shot = '';
    if (currentPage) {
      try {
        shot = await screenshot(currentPage, `failed-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
      } catch {
        shot = '(no screenshot)';
      }
    }
    throw new Error(`step "${name}" failed: ${message}${shot ? `\n  screenshot: ${shot}` : ''}`);
  } finally {
    clearTimeout(timer);
  }
}

/** @param {import('playwright-core').Page} page @param {string} label */
function watch(page, label) {
  page.on('pageerror', (error) => pageErrors.push(`[${label}] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`[${label}] ${message.text()}`);
  });
  page.setDefaultTimeout(STEP_MS);
}

/** The error banner's text, when it shows. @param {import('playwright-core').Page} page */
async function bannerText(page) {
  const banner = page.getByTestId('error-banner');
  return (await banner.isVisible()) ? (await banner.innerText()).trim() : '';
}

/** Fails at once when the page shows an API error. @param {import('playwright-core').Page} page */
async function noBanner(page) {
  const text = await bannerText(page);
  if (text) throw new Error(`the console shows an error: ${text}`);
}

async function main() {
  await mkdir(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    watch(page, 'replay tab');
    currentPage = page;
    const eventRow = page.locator(`[data-testid="event-row"][data-event-id=${q(eventId)}]`);

    await step('the events list shows the demo event', async () => {
      await page.goto(`${base}/#/`);
      await page.getByText('reeltime', { exact: true }).first().waitFor();
      await until(`event ${eventId} in the list with segments`, async () => {
        await noBanner(page);
        if ((await eventRow.count()) === 0) return false;
        const count = Number(await eventRow.getByTestId('segment-count').innerText());
        return count > 0;
      });
      await screenshot(page, '01-events');
    });

    await step('the event page shows segments on the timeline', async () => {
      await eventRow.getByTestId('event-link').click();
      await page.waitForURL((url) => url.hash.startsWith(`#/events/${encodeURIComponent(eventId)}`));
      await until('segments on the timeline', async () => (await page.getByTestId('segment-block').count()) > 0);
      await until('the change stream to be live', async () => (await page.getByTestId('live').innerText()) === 'live');
      const blocks = await page.getByTestId('segment-block').count();
      const chips = await page.locator('[data-testid="segment-row"] .chip').count();
      if (chips === 0) throw new Error('no segment shows a feature chip');
      console.log(`   ${blocks} segments on the timeline, ${chips} feature chips`);
      await noBanner(page);
      await screenshot(page, '02-event');
    });

    const replayId = `browser-catchup-${Date.now().toString(36)}`;
    await step('the replay form offers the event features and creates a catch-up replay', async () => {
      await page.getByTestId('new-replay').click();
      await page.waitForURL((url) => url.hash.startsWith('#/replays/new'));
      const options = page.getByTestId('priority-option');
      await until('priorities offered from the event features', async () => (await options.count()) > 0);
      await noBanner(page);
      const offered = await options.evaluateAll((els) =>
        els.map((el) => ({
          attribute: el.getAttribute('data-attribute') ?? '',
          value: el.getAttribute('data-value') ?? '',
          plugin: el.getAttribute('data-plugin') ?? '',
        })),
      );
      // The demo's features: Excitement=high/medium from its segmenter, and what its featurers
      // saw. Excitement high and medium, as the demo's own replays; else the first two offered.
      const wanted = offered
        .map((o, index) => ({ ...o, index }))
        .filter((o) => o.attribute === 'Excitement' && (o.value === 'high' || o.value === 'medium'));
      // One plugin's, when several plugins report Excitement (the demo's segmenter and its
      // loudness featurer do).
      const segmenter = wanted.filter((o) => o.plugin === 'ExcitementSegmenter');
      const chosen =
        segmenter.length > 0 ? segmenter : wanted.length > 0 ? wanted : offered.slice(0, 2).map((o, index) => ({ ...o, index }));
      console.log(`   ${offered.length} features offered; choosing ${chosen.map((c) => `${c.attribute}=${c.value}`).join(', ')}`);
      await page.getByTestId('replay-id').fill(replayId);
      await page.getByTestId('mode-duration').check();
      await page.getByTestId('duration').fill('30');
      await page.getByTestId('tolerance').fill('5');
      await page.getByTestId('catchup').check();
      await page.getByTestId('include-liked').check();
      for (const c of chosen) {
        const option = options.nth(c.index);
        await option.getByTestId('priority-check').check();
        await option.getByTestId('priority-weight').fill(c.value === 'high' ? '90' : '50');
      }
      await page.getByTestId('resolution-720p').uncheck();
      await page.getByTestId('resolution-360p').check();
      // First a request the engine refuses (a negative tolerance): its error must show.
      await page.getByTestId('tolerance').fill('-1');
      await page.getByTestId('submit-replay').click();
      const refusal = await until('the error banner for a refused replay', async () => {
        if (!(await page.getByTestId('error-banner').isVisible())) return false;
        const code = (await page.getByTestId('error-code').innerText()).trim();
        const message = (await page.getByTestId('error-message').innerText()).trim();
        return code && message ? `${code}: ${message}` : false;
      });
      if (!new URL(page.url()).hash.startsWith('#/replays/new')) throw new Error('a refused replay left the form');
      console.log(`   refused as expected, banner: ${refusal}`);
      await screenshot(page, '03-replay-form-error');
      await page.getByTestId('tolerance').fill('5');
      await screenshot(page, '03-replay-form');
      await page.getByTestId('submit-replay').click();
      await until(`the replay page of ${replayId} (or an error)`, async () => {
        await noBanner(page);
        return new URL(page.url()).hash === `#/replays/${encodeURIComponent(replayId)}`;
      });
    });

    /** @returns {Promise<number>} */
    const shownVersion = async () => Number((await page.getByTestId('replay-version').getAttribute('data-version')) || 0);

    const firstVersion = await step('the new replay appears live with its clips', async () => {
      const version = await until('a version on the replay page', async () => {
        await noBanner(page);
        const v = await shownVersion();
        return v > 0 ? v : false;
      });
      await until('the replay stream to be live', async () => (await page.getByTestId('live').innerText()) === 'live');
      await until('selected clips', async () => (await page.getByTestId('replay-clip').count()) > 0);
      const clips = await page.getByTestId('replay-clip').count();
      console.log(`   ${replayId}: v${version}, ${clips} clips`);
      await screenshot(page, '04-replay');
      return version;
    });

    const selectedStarts = await page
      .getByTestId('replay-clip')
      .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-start'))));

    const eventPage = await context.newPage();
    watch(eventPage, 'event tab');
    const liked = await step('a segment clip previews on the event page and is liked', async () => {
      currentPage = eventPage;
      await eventPage.goto(`${base}/#/events/${encodeURIComponent(eventId)}`);
      const rows = eventPage.getByTestId('segment-row');
      await until('segments in the list', async () => (await rows.count()) > 0);
      await until('the change stream to be live', async () => (await eventPage.getByTestId('live').innerText()) === 'live');
      // A complete segment not in the replay yet, so that liking it must change the replay;
      // else (every one selected) one of them, whose clip then turns forced.
      const starts = await eventPage
        .locator('[data-testid="segment-row"]:not(:has(.badge-started))')
        .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-start'))));
      if (starts.length === 0) throw new Error('no complete segment to like');
      const start = starts.find((s) => !selectedStarts.some((t) => Math.abs(t - s) < 0.0005)) ?? starts[0];
      await eventPage.locator(`[data-testid="segment-row"][data-start=${q(start ?? 0)}]`).click();
      await until('the segment detail', async () => (await eventPage.getByTestId('selected-range').count()) > 0);
      // Its rendered clip: the thumbnail loads and the player reads the MP4's metadata.
      await until('the clip preview (thumbnail and video)', async () => {
        await noBanner(eventPage);
        const video = eventPage.getByTestId('clip-video');
        if ((await video.count()) === 0) return false;
        const ready = await video.evaluate((v) => /** @type {HTMLVideoElement} */ (v).readyState >= 1);
        const thumb = eventPage.getByTestId('clip-thumbnail');
        const thumbLoaded =
          (await thumb.count()) > 0 && (await thumb.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth > 0));
        return ready && thumbLoaded;
      });
      await screenshot(eventPage, '05-segment-clip');
      await eventPage.getByTestId('like').click();
      await until('the like to come back on the segment (live)', async () => {
        await noBanner(eventPage);
        return (await eventPage.locator(`[data-testid="segment-row"][data-start=${q(start ?? 0)}][data-feedback="like"]`).count()) > 0;
      });
      await screenshot(eventPage, '06-segment-liked');
      console.log(`   liked the segment at ${start} s`);
      return start ?? 0;
    });

    const likedVersion = await step('the catch-up replay takes the liked clip live', async () => {
      currentPage = page;
      await page.bringToFront();
      const version = await until(`a version above v${firstVersion} with the clip at ${liked} s forced`, async () => {
        await noBanner(page);
        const v = await shownVersion();
        const forced = await page.locator(`[data-testid="replay-clip"][data-start=${q(liked)}][data-forced="true"]`).count();
        return v > firstVersion && forced > 0 ? v : false;
      });
      const seen = await page.getByTestId('version-history').locator('li').count();
      if (seen < 2) throw new Error(`the page saw ${seen} version(s), not the change`);
      console.log(`   ${replayId}: v${firstVersion} -> v${version}, clip at ${liked} s forced`);
      await screenshot(page, '07-replay-liked');
      return version;
    });

    // The engine renders one replay at a time: this one may wait for the demo's own two.
    await step('the video of the liked version is rendered', async () => {
      await until(`the video of v${likedVersion} or later to be rendered`, async () => {
        await noBanner(page);
        const text = await page.getByTestId('render-status').innerText();
        const m = /^rendered \(v(\d+)\)/.exec(text);
        if (m && Number(m[1]) >= likedVersion && (await page.getByTestId('replay-video').count()) > 0) return true;
        if (text.startsWith('failed')) throw new Error(`rendering failed: ${text}`);
        return false;
      }, RENDER_MS);
    }, RENDER_MS);

    await step('the rendered replay plays in the HLS player', async () => {
      const state = await until('the video to play (currentTime advancing, readyState >= 2)', async () => {
        const problem = page.getByTestId('player-problem');
        if ((await problem.count()) > 0 && (await problem.isVisible())) {
          const text = await problem.innerText();
          if (/failed/i.test(text)) throw new Error(text);
        }
        return page.evaluate(() => {
          const video = /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid="replay-video"]'));
          if (!video) return false;
          video.muted = true;
          if (video.paused) video.play().catch(() => undefined);
          return video.readyState >= 2 && video.currentTime > 1
            ? { currentTime: video.currentTime, readyState: video.readyState, duration: video.duration, width: video.videoWidth, height: video.videoHeight }
            : false;
        });
      });
      console.log(
        `   playing: currentTime ${state.currentTime.toFixed(2)} s of ${state.duration.toFixed(2)} s, readyState ${state.readyState}, ${state.width}x${state.height}`,
      );
      await screenshot(page, '08-replay-playing');
    });

    if (pageErrors.length > 0) throw new Error(`uncaught errors in the page:\n  ${pageErrors.join('\n  ')}`);
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    console.log(`${passed} passed, 0 failed`);
    console.log(`screenshots: ${shots}`);
  },
  (e) => {
    console.error(`browser test FAILED: ${e instanceof Error ? e.message : String(e)}`);
    if (pageErrors.length > 0) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
    if (consoleErrors.length > 0) console.error(`console errors:\n  ${consoleErrors.slice(-20).join('\n  ')}`);
    console.log(`${passed} passed, 1 failed`);
    console.log(`screenshots: ${shots}`);
    process.exit(1);
  },
);
