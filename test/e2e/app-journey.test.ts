import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../support/api.ts';
import { processesWorkingIn } from '../support/processes.ts';
import { SampleRepo } from '../support/sample-apps.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { collectPageErrors, launchBrowser, newContext } from './support/browser.ts';
import { canvas, deployButton, deploymentRegion, dragOnto, palette, palettePostgres, planName, properties, saveButton } from './support/pages.ts';
import { screenshot } from './support/screenshots.ts';

// A customer's app beside its database, through the browser: both components dragged from the
// palette, the app pointed at a git repository and linked to the database, saved, deployed, and
// the app opened from the link the deployment view gives, answering with rows it read over TLS.
// The steps share one tab and run in order: once a step fails, the ones after it are skipped.

const STEP_MS = 30_000;
/** The app's build runs npm ci, which fetches node-postgres from the npm registry. */
const DEPLOY_MS = 180_000;
const TEARDOWN_MS = 60_000;
const PLAN = 'app-journey';
/** The ids the editor gives the first component of each kind. */
const DATABASE = 'postgres';
const APP = 'app';

const cloud = useLocalCloud({ webApp: true });
const repo = new SampleRepo('node-notes');
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
let failedStep: string | undefined;
let planId: string | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
  context = await newContext(browser, cloud.url);
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  pageErrors = collectPageErrors(page);
}, 60_000);

// Whatever the steps got to, the plan goes, and its app and database processes with it, before
// the local cloud stops (hooks run in reverse: useLocalCloud's afterAll comes after this one).
afterAll(async () => {
  await browser?.close();
  try {
    if (planId !== undefined) await deletePlan(planId);
  } finally {
    repo.remove();
  }
}, TEARDOWN_MS + STEP_MS);

beforeEach(({ task, skip, onTestFailed }) => {
  if (failedStep !== undefined) skip(`an earlier step failed: ${failedStep}`);
  onTestFailed(async () => {
    failedStep = task.name;
    await screenshot(page, 'failed-app-journey-step').catch(() => undefined);
  });
});

const paletteApp = (on: Page): Locator => palette(on).getByLabel('App service', { exact: true });
/** A component's card on the canvas: its name starts with the component's id, then its kind. */
const card = (on: Page, id: string, kind: 'App' | 'PostgreSQL'): Locator => canvas(on).getByRole('button', { name: new RegExp(`^${id}\\s*${kind}`) });
const componentsRegion = (on: Page): Locator => deploymentRegion(on).getByRole('region', { name: 'Components' });
/** The deployed component `id` in the deployment view's list: its entry holds its id in code. */
const deployedComponent = (on: Page, id: string): Locator =>
  componentsRegion(on)
    .getByRole('listitem')
    .filter({ has: on.getByText(id, { exact: true }) });
/**
 * The plan's own status word, beside the Deployment heading: the components below carry status
 * words of their own (the database is Running while the app still builds).
 */
const planStatus = (on: Page): Locator =>
  deploymentRegion(on)
    .getByRole('heading', { name: 'Deployment', exact: true })
    .locator('..')
    .getByText(/^(Running|Failed)$/);

describe('a customer deploying an app beside its database', () => {
  it('logs in and opens a new plan with both components in the palette', async () => {
    await page.goto('/login');
    await page.getByLabel('E-mail address').fill(cloud.user.email);
    await page.getByLabel('Password', { exact: true }).fill(cloud.user.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/plans');
    await page.getByRole('link', { name: 'New plan' }).click();
    await page.waitForURL('**/plans/new');

    await palettePostgres(page).waitFor();
    await paletteApp(page).waitFor();
    await canvas(page).waitFor();
    expect(await deployButton(page).isDisabled()).toBe(true);
  });

  it('drags PostgreSQL onto the canvas and sizes it small', async () => {
    await dragOnto(page, palettePostgres(page), canvas(page));

    await card(page, DATABASE, 'PostgreSQL').waitFor();
    const panel = properties(page);
    await planName(page).fill(PLAN);
    await panel.getByLabel('vCPUs and memory').check();
    await panel.getByLabel('vCPUs', { exact: true }).fill('1');
    await panel.getByLabel('Memory (GiB)').fill('1');
    await panel.getByLabel('Storage (GiB)').fill('10');
    await panel.getByLabel('Max connections').fill('30');
    expect(await panel.getByLabel('PostgreSQL version').inputValue()).toBe('15');
    await screenshot(page, 'a01-database-on-canvas');
  });

  it('drags the App service onto the canvas, which adds it beside the database and opens its properties', async () => {
    await dragOnto(page, paletteApp(page), canvas(page));

    const app = card(page, APP, 'App');
    await app.waitFor();
    await app.click();
    expect(await app.getAttribute('aria-pressed')).toBe('true');
    await properties(page).getByLabel('Repository URL').waitFor();
    expect(await paletteApp(page).count()).toBe(1); // copied out, not moved
    expect(await card(page, DATABASE, 'PostgreSQL').count()).toBe(1);
  });

  it('points the app at the repository, its health check and release command, and links it to the database', async () => {
    const panel = properties(page);
    const database = panel.getByLabel('Database', { exact: true });
    // Dropped beside a database, the app already uses it; choosing it again changes nothing.
    expect(await database.inputValue()).toBe(DATABASE);
    await panel.getByLabel('Repository URL').fill(repo.path);
    await panel.getByLabel('Health check path').fill('/healthz');
    await panel.getByLabel('Release command').fill('node migrate.js');
    await database.selectOption(DATABASE);

    expect(await database.inputValue()).toBe(DATABASE);
    expect(await panel.getByLabel('Branch', { exact: true }).inputValue()).toBe('main');
    expect(await panel.locator('[aria-invalid="true"]').count()).toBe(0);
    expect(await saveButton(page).isEnabled()).toBe(true);
  });

  it('draws the link from the app to the database on the canvas', async () => {
    const links = canvas(page).getByRole('group', { name: 'Links between components' });
    const link = links.getByRole('img', { name: `${APP} uses ${DATABASE}`, exact: true });

    // The arrow is a line, flat when the cards sit side by side: attached and measured, never "visible".
    await link.locator('line').waitFor({ state: 'attached' });
    expect(await links.getByRole('img').count()).toBe(1);
    const [arrow, app, database] = await Promise.all([
      box(link.locator('line')),
      box(card(page, APP, 'App')),
      box(card(page, DATABASE, 'PostgreSQL')),
    ]);
    expect(arrow.width + arrow.height).toBeGreaterThan(0);
    expect(runsBetween(arrow, app, database), JSON.stringify({ arrow, app, database })).toBe(true);
    expect(await card(page, APP, 'App').textContent()).toContain(`uses ${DATABASE}`);
    await canvas(page).scrollIntoViewIfNeeded();
    await screenshot(page, 'a02-linked');
  });

  it("saves the plan: the button says Saved and the address becomes the plan's", async () => {
    await saveButton(page).click();

    await page.getByRole('button', { name: 'Saved' }).waitFor();
    await page.waitForURL(/\/plans\/(?!new)[^/]+$/);
    planId = new URL(page.url()).pathname.split('/').at(-1);
    expect(planId).toMatch(/.+/);
    expect(await deployButton(page).isEnabled()).toBe(true);
  });

  it('deploys: the plan and the app turn Running, with the commit the app serves', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    await deployButton(page).click();

    const status = planStatus(page);
    await status.waitFor({ timeout: DEPLOY_MS });
    const settled = await status.textContent();
    const why = settled === 'Running' ? '' : JSON.stringify(await cloud.api.call('GET', `/v1/plan/${planId ?? ''}/deployment`));
    expect(settled, why).toBe('Running');
    const app = deployedComponent(page, APP);
    await app.getByText('Running', { exact: true }).waitFor();
    await deployedComponent(page, DATABASE).getByText('Running', { exact: true }).waitFor();
    await app.getByTitle(repo.head).waitFor();
    expect(await app.getByTitle(repo.head).textContent()).toBe(repo.head.slice(0, 7));
    await componentsRegion(page).scrollIntoViewIfNeeded();
    await screenshot(page, 'a03-running');
  });

  it("links the app's address, opening it in a new tab, where it answers with the database's rows over TLS", async () => {
    const link = deployedComponent(page, APP).getByRole('link', { name: /^http:\/\/127\.0\.0\.1:\d+$/ });
    const appUrl = (await link.getAttribute('href')) ?? '';
    expect(appUrl).toBe(await link.textContent());
    expect(await link.getAttribute('target')).toBe('_blank');
    expect((await link.getAttribute('rel'))?.split(/\s+/)).toContain('noopener');

    const [tab] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await tab.waitForLoadState();
    expect(tab.url()).toBe(`${appUrl}/`);
    expect(await tab.evaluate(() => (globalThis as { opener?: unknown }).opener ?? null)).toBeNull(); // noopener: no handle back to CloudSeed
    // Chromium shows a JSON answer as its text in a <pre>.
    const shown = JSON.parse((await tab.locator('pre').first().textContent()) ?? '') as unknown;
    await tab.close();
    expect(shown).toEqual({ version: 'v1', notes: ['hello from the database'], tls: true });
    const response = await fetch(appUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
  });

  it("shows the app's log: the build's npm ci, the release command's migration, and the server starting", async () => {
    const app = deployedComponent(page, APP);
    const log = app.getByRole('log', { name: `Log of ${APP}` });
    const show = app.getByRole('radiogroup', { name: 'Show log lines from' });

    await log.getByText('$ npm ci', { exact: true }).waitFor();
    await show.getByRole('radio', { name: 'Build' }).check();
    await log.getByText('install: npm ci (package-lock.json)', { exact: true }).waitFor();
    await show.getByRole('radio', { name: 'Release' }).check();
    await log.getByText('migrated', { exact: true }).waitFor();
    expect(await log.getByText('$ npm ci', { exact: true }).count()).toBe(0);
    await show.getByRole('radio', { name: 'Run' }).check();
    await log
      .getByText(/^notes v1 listening on \d+$/)
      .first()
      .waitFor();
    expect(await log.getByText('migrated', { exact: true }).count()).toBe(0);
    await screenshot(page, 'a04-logs');
  });

  it('threw no uncaught error in the page along the way', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** Deletes the plan through the API and waits until its teardown is done and nothing of its apps runs. */
async function deletePlan(id: string): Promise<void> {
  const deleted = await cloud.api.call('DELETE', `/v1/plan/${id}`);
  if (deleted.status !== 202) throw new Error(`DELETE /v1/plan/${id} answered ${deleted.status}: ${deleted.text}`);
  await until(
    () => cloud.api.call('GET', `/v1/plan/${id}`).then((response) => response.status),
    (status) => status === 404,
    TEARDOWN_MS,
  );
  const left = await processesWorkingIn(`${cloud.home}/apps`);
  if (left.length > 0) throw new Error(`processes ${left.join(', ')} still run for the deleted plan's apps`);
}

type Box = NonNullable<Awaited<ReturnType<Locator['boundingBox']>>>;

async function box(locator: Locator): Promise<Box> {
  const found = await locator.boundingBox();
  if (found === null) throw new Error(`${locator.toString()} has no box`);
  return found;
}

/** The segment lies in the space between the two boxes: inside the smallest box holding both, overlapping neither. */
function runsBetween(segment: Box, a: Box, b: Box): boolean {
  const overlaps = (one: Box, other: Box) =>
    one.x < other.x + other.width && other.x < one.x + one.width && one.y < other.y + other.height && other.y < one.y + one.height;
  const left = Math.min(a.x, b.x);
  const top = Math.min(a.y, b.y);
  const right = Math.max(a.x + a.width, b.x + b.width);
  const bottom = Math.max(a.y + a.height, b.y + b.height);
  const inside = segment.x >= left && segment.y >= top && segment.x + segment.width <= right && segment.y + segment.height <= bottom;
  return inside && !overlaps(segment, a) && !overlaps(segment, b);
}
