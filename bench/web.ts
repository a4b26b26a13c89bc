import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { launchBrowser, storedSession, VIEWPORT } from '../test/e2e/support/browser.ts';
import { canvas, palettePostgres } from '../test/e2e/support/pages.ts';
import { requireWebBuild, startLocalCloud } from '../test/support/local-cloud.ts';
import { signUp } from '../test/support/users.ts';
import type { SignedUpUser } from '../test/support/users.ts';
import { median, round } from './harness.ts';

// The web app as headless Chromium gets it from the local cloud: the JavaScript and CSS a page
// really loads (every .js/.css response, gzip-compressed here with node:zlib at its default
// level), and how long the editor takes from navigation to a palette ready to drag from.

export interface ShippedBytes {
  /** Responses counted, by type. */
  readonly files: { readonly js: number; readonly css: number };
  readonly jsKB: number;
  readonly jsGzipKB: number;
  readonly cssKB: number;
  readonly cssGzipKB: number;
}

export interface WebBench {
  readonly landing: ShippedBytes;
  readonly editor: ShippedBytes;
  readonly targets: { readonly landingJsGzipKB: number; readonly editorInteractiveMs: number };
  /** `goto('/plans/new')` to the palette's PostgreSQL visible and enabled with the Canvas present; fresh profile each run. */
  readonly editorInteractiveColdMs: { readonly median: number; readonly runs: readonly number[] };
  /** The same in a profile that has loaded the editor before (HTTP cache warm). */
  readonly editorInteractiveWarmMs: { readonly median: number; readonly runs: readonly number[] };
}

const RUNS = 5;
const KB = 1024;

export async function webBench(runs = RUNS): Promise<WebBench> {
  requireWebBuild();
  const cloud = await startLocalCloud();
  let browser: Browser | undefined;
  try {
    const user = await signUp(cloud.config);
    browser = await launchBrowser();
    const fresh = (signedIn: boolean) => freshContext(browser!, cloud.url, signedIn ? user : undefined);

    const landing = await shipped(await fresh(false), '/', async () => {});
    const editor = await shipped(await fresh(true), '/plans/new', async (context) => {
      const page = context.pages()[0]!;
      await editorReady(page);
    });

    const cold: number[] = [];
    for (let run = 0; run < runs; run++) {
      const context = await fresh(true);
      try {
        cold.push(await timeToEditor(context));
      } finally {
        await context.close();
      }
    }
    const warm: number[] = [];
    const context = await fresh(true);
    try {
      await timeToEditor(context);
      for (let run = 0; run < runs; run++) warm.push(await timeToEditor(context));
    } finally {
      await context.close();
    }

    return {
      landing,
      editor,
      targets: { landingJsGzipKB: 60, editorInteractiveMs: 1000 },
      editorInteractiveColdMs: { median: round(median(cold)), runs: cold.map((ms) => round(ms)) },
      editorInteractiveWarmMs: { median: round(median(warm)), runs: warm.map((ms) => round(ms)) },
    };
  } finally {
    await browser?.close();
    await cloud.stop();
  }
}

/** A new profile; signed in means the session is in localStorage before the first page runs. */
async function freshContext(browser: Browser, baseURL: string, user: SignedUpUser | undefined): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport: VIEWPORT });
  if (user !== undefined) {
    await context.addInitScript(
      ([key, value]) => {
        (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(key, value);
      },
      ['cloudseed.session', JSON.stringify(storedSession(user))] as const,
    );
  }
  await context.newPage();
  return context;
}

async function editorReady(page: Page): Promise<void> {
  const item = palettePostgres(page);
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await canvas(page).waitFor({ state: 'attached', timeout: 30_000 });
  if (!(await item.isEnabled())) throw new Error('the palette PostgreSQL item is disabled once visible');
}

async function timeToEditor(context: BrowserContext): Promise<number> {
  const page = context.pages()[0]!;
  const started = performance.now();
  await page.goto('/plans/new', { waitUntil: 'commit' });
  await editorReady(page);
  return performance.now() - started;
}

/** Sums the .js and .css bodies the browser receives while opening `path` and until `ready`, then the network is idle. */
async function shipped(context: BrowserContext, path: string, ready: (context: BrowserContext) => Promise<void>): Promise<ShippedBytes> {
  const page = context.pages()[0]!;
  const responses: Response[] = [];
  page.on('response', (response) => responses.push(response));
  try {
    await page.goto(path);
    await ready(context);
    await page.waitForLoadState('networkidle');
    const totals = { js: { files: 0, raw: 0, gzip: 0 }, css: { files: 0, raw: 0, gzip: 0 } };
    const seen = new Set<string>();
    for (const response of responses) {
      const url = new URL(response.url());
      const kind = url.pathname.endsWith('.js') ? 'js' : url.pathname.endsWith('.css') ? 'css' : undefined;
      if (kind === undefined || seen.has(url.pathname) || response.status() !== 200) continue;
      seen.add(url.pathname);
      const body = await response.body();
      totals[kind].files++;
      totals[kind].raw += body.length;
      totals[kind].gzip += gzipSync(body).length;
    }
    const kb = (bytes: number) => round(bytes / KB);
    return {
      files: { js: totals.js.files, css: totals.css.files },
      jsKB: kb(totals.js.raw),
      jsGzipKB: kb(totals.js.gzip),
      cssKB: kb(totals.css.raw),
      cssGzipKB: kb(totals.css.gzip),
    };
  } finally {
    await context.close();
  }
}

export function printWebBench(web: WebBench): void {
  console.log('\nWeb app in headless Chromium (JS and CSS the page loads, gzip via node:zlib)');
  console.table({
    'landing /': { ...web.landing, files: `${web.landing.files.js} js, ${web.landing.files.css} css` },
    'editor /plans/new': { ...web.editor, files: `${web.editor.files.js} js, ${web.editor.files.css} css` },
  });
  console.log(`landing JS gzip ${web.landing.jsGzipKB} KB (target < ${web.targets.landingJsGzipKB} KB)`);
  console.log(
    `editor interactive: cold median ${web.editorInteractiveColdMs.median} ms (runs ${web.editorInteractiveColdMs.runs.join(', ')}), ` +
      `warm median ${web.editorInteractiveWarmMs.median} ms (target < ${web.targets.editorInteractiveMs} ms)`,
  );
}

// `node bench/web.ts`: just this benchmark, merged into bench/results/latest.json beside the others.
if (import.meta.main) {
  const web = await webBench();
  printWebBench(web);
  const results = new URL('results/latest.json', import.meta.url);
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  const previous = existsSync(results) ? (JSON.parse(readFileSync(results, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(results, `${JSON.stringify({ ...previous, web: { measuredAt: new Date().toISOString(), ...web } }, null, 2)}\n`);
  console.log('Written to bench/results/latest.json (web)');
}
