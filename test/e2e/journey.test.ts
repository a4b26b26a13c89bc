import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { randomEmail, randomPassword } from '../support/users.ts';
import { psql } from './support/api.ts';
import { collectPageErrors, launchBrowser, newContext } from './support/browser.ts';
import {
  backupsRegion,
  canvas,
  deployButton,
  deploymentRegion,
  dragOnto,
  palettePostgres,
  planName,
  properties,
  saveButton,
  statusTone,
} from './support/pages.ts';
import type { DomWindow } from './support/dom.ts';
import { screenshot } from './support/screenshots.ts';

// One customer from the landing page to a running, backed-up, restored and finally deleted
// PostgreSQL, through the browser only; psql checks that what the page shows is real. The steps
// share one tab and run in order: once a step fails, the ones after it are skipped.

const STEP_MS = 30_000;
const DEPLOY_MS = 60_000;
const PLAN = 'journey-db';
const MARKER = 'journey_marker';

const cloud = useLocalCloud({ webApp: true });
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
let failedStep: string | undefined;
const email = randomEmail();
const password = randomPassword();
let planId: string;
let connection: { uri: string; password: string; cwd: string };
/** Where psql runs, as a customer's client would: the plan's CA certificate is saved there. */
const clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-journey-client-'));

beforeAll(async () => {
  browser = await launchBrowser();
  context = await newContext(browser, cloud.url);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cloud.url });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  pageErrors = collectPageErrors(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(clientDir, { recursive: true, force: true });
});

beforeEach(({ task, skip, onTestFailed }) => {
  if (failedStep !== undefined) skip(`an earlier step failed: ${failedStep}`);
  onTestFailed(async () => {
    failedStep = task.name;
    await screenshot(page, 'failed-journey-step').catch(() => undefined);
  });
});

const waitForStatus = async (word: 'Running' | 'Failed' | 'Deploying', timeout = DEPLOY_MS) => {
  const status = deploymentRegion(page).getByText(word, { exact: true }).first();
  await status.waitFor({ timeout });
  return status;
};

describe('a new customer', () => {
  it('lands on the home page with a way to start and to log in', async () => {
    await page.goto('/');

    await page.getByRole('link', { name: 'Get started' }).first().waitFor();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
    for (const name of ['About', 'Contact']) expect(await page.getByRole('region', { name }).count(), name).toBe(1);
    await screenshot(page, '01-landing');
  });

  it('signs up and arrives at an empty dashboard', async () => {
    await page.getByRole('link', { name: 'Get started' }).first().click();
    await page.waitForURL('**/signup');
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await screenshot(page, '02-sign-up');
    await page.getByRole('button', { name: 'Sign up' }).click();

    await page.waitForURL('**/plans');
    await page.getByRole('heading', { name: 'Plans', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await page.getByRole('heading', { name: 'No plans yet' }).waitFor();
    expect(await page.getByRole('main').getByText(PLAN).count()).toBe(0);
    await screenshot(page, '03-dashboard-empty');
  });

  it('opens a new plan with the palette and an empty canvas', async () => {
    await page
      .getByRole('link', { name: 'New plan' })
      .or(page.getByRole('button', { name: 'New plan' }))
      .first()
      .click();
    await page.waitForURL('**/plans/new');

    await palettePostgres(page).waitFor();
    await canvas(page).waitFor();
    await page.getByText('App service').first().waitFor();
    expect(await deployButton(page).isDisabled()).toBe(true);
    await screenshot(page, '04-new-plan');
  });

  it('drags PostgreSQL onto the canvas, which adds it and opens its properties', async () => {
    await dragOnto(page, palettePostgres(page), canvas(page));

    await canvas(page).getByText('PostgreSQL 15', { exact: false }).first().waitFor();
    await properties(page).getByLabel('Storage (GiB)').waitFor();
    expect(await palettePostgres(page).count()).toBe(1); // copied out, not moved
    await screenshot(page, '05-dropped-on-canvas');
  });

  it('names the plan and sizes it small, on PostgreSQL 15, reachable from this machine', async () => {
    const panel = properties(page);
    await planName(page).fill(PLAN);
    await panel.getByLabel('PostgreSQL version').selectOption('15');
    await panel.getByLabel('vCPUs and memory').check();
    await panel.getByLabel('vCPUs', { exact: true }).fill('1');
    await panel.getByLabel('Memory (GiB)').fill('1');
    await panel.getByLabel('Storage (GiB)').fill('10');
    await panel.getByLabel('Max connections').fill('50');
    await panel.getByRole('button', { name: 'Add my IP' }).click();

    await expect.poll(() => panel.getByLabel('Allowed CIDR 1', { exact: true }).inputValue()).toBe('127.0.0.1/32');
    expect(await panel.getByText(/must|invalid|required/i).count()).toBe(0);
    expect(await saveButton(page).isEnabled()).toBe(true);
    await screenshot(page, '06-properties');
  });

  it("saves the plan: the button says Saved and the address becomes the plan's", async () => {
    await saveButton(page).click();

    await page.getByRole('button', { name: 'Saved' }).waitFor();
    await page.waitForURL(/\/plans\/(?!new)[^/]+$/);
    planId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    expect(planId).not.toBe('');
    expect(await deployButton(page).isEnabled()).toBe(true);
    await screenshot(page, '07-saved');
  });

  it('deploys: the status turns green, Running, with the steps and the connection string', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    await deployButton(page).click();
    // Disabled from the click until the deployment settles ("Starting…", then "Deploying").
    expect(await page.getByRole('button', { name: /^(Deploy|Redeploy|Starting…)$/ }).isDisabled()).toBe(true);
    // Orange while it runs (the local deploy takes a second or two, long enough to see).
    expect(await statusTone(await waitForStatus('Deploying', STEP_MS))).toBe('orange');

    const running = await waitForStatus('Running');
    await expect.poll(() => statusTone(running), { timeout: 5_000 }).toBe('green');
    const deployment = deploymentRegion(page);
    await expect.poll(() => connectionString(page)).toMatch(/^postgresql:\/\/app@127\.0\.0\.1:\d+\/app/);
    const steps = deployment.getByRole('list', { name: /steps/i }).first().getByRole('listitem');
    expect(await steps.count()).toBeGreaterThanOrEqual(10);
    expect(await steps.filter({ hasText: /failed/i }).count()).toBe(0);
    await screenshot(page, '08-running');
  });

  it('shows a connection string and password that really connect', async () => {
    const deployment = deploymentRegion(page);
    const uri = await connectionString(page);
    expect(uri).not.toMatch(/^postgresql:\/\/[^@/]+:[^@/]+@/); // no password in it until asked

    await deployment.getByRole('button', { name: 'Copy connection string', exact: true }).click();
    await expect.poll(() => clipboard(page)).toBe(uri);

    await deployment.getByRole('button', { name: 'Show password' }).click();
    await deployment.getByRole('button', { name: 'Hide password' }).waitFor();
    await deployment.getByRole('button', { name: 'Copy password', exact: true }).click();
    await expect.poll(() => clipboard(page)).not.toBe(uri);
    const revealed = await clipboard(page);
    expect(revealed.length).toBeGreaterThanOrEqual(16);
    await deployment.getByText(revealed, { exact: true }).waitFor();

    // The string verifies the server against the plan's CA, saved under the name it gives.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      deployment.getByRole('button', { name: 'Download CA certificate' }).click(),
    ]);
    expect(uri).toMatch(/\?sslmode=verify-full&sslrootcert=cloudseed-[\w-]+-ca\.crt$/);
    expect(uri).toContain(`sslrootcert=${download.suggestedFilename()}`);
    await download.saveAs(join(clientDir, download.suggestedFilename()));

    connection = { uri, password: revealed, cwd: clientDir };
    const result = psql(
      connection,
      "SELECT current_user, current_database(), current_setting('server_version_num')::int / 10000, current_setting('ssl')",
    );
    expect(result, result.err).toMatchObject({ ok: true, out: 'app|app|15|on' });
    await screenshot(page, '09-connection');
  });

  it('edits max connections, saves, re-deploys, and is green again with the new setting', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    await canvas(page).getByText('PostgreSQL 15', { exact: false }).first().click();
    await properties(page).getByLabel('Max connections').fill('60');
    expect(await deployButton(page).isDisabled()).toBe(true); // unsaved
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Saved' }).waitFor();

    await deployButton(page).click();

    await expect.poll(() => psql(connection, 'SHOW max_connections').out, { timeout: DEPLOY_MS, interval: 250 }).toBe('60');
    const running = await waitForStatus('Running');
    await expect.poll(() => statusTone(running), { timeout: 5_000 }).toBe('green');
    await screenshot(page, '10-redeployed');
  });

  it('runs a backup now, which succeeds and is validated', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    expect(psql(connection, `CREATE TABLE ${MARKER} (note text); INSERT INTO ${MARKER} VALUES ('before the backup')`).ok).toBe(true);
    const backups = backupsRegion(page);
    await backups.getByRole('button', { name: 'Run backup now' }).click();

    await backups
      .getByText(/validated|passed/i)
      .first()
      .waitFor({ timeout: DEPLOY_MS });
    await backups
      .getByText(/succeeded/i)
      .first()
      .waitFor();
    await backups.getByRole('button', { name: 'Restore' }).first().waitFor();
    await screenshot(page, '11-backup-validated');
  });

  it('restores that backup after a confirmation, bringing back what was lost', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    expect(psql(connection, `DROP TABLE ${MARKER}`).ok).toBe(true);
    await backupsRegion(page).getByRole('button', { name: 'Restore' }).first().click();

    const dialog = page.getByRole('dialog').or(page.getByRole('alertdialog'));
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).waitFor();
    await screenshot(page, '12-restore-confirmation');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await dialog.waitFor({ state: 'hidden' });

    await expect.poll(() => psql(connection, `SELECT note FROM ${MARKER}`).out, { timeout: DEPLOY_MS, interval: 250 }).toBe('before the backup');
    await waitForStatus('Running');
    await screenshot(page, '13-restored');
    // A full backup of the restored cluster follows; the plan can be changed again once it is done.
    await expect
      .poll(() => backupsRegion(page).getByRole('button', { name: 'Run backup now' }).isEnabled(), { timeout: DEPLOY_MS, interval: 250 })
      .toBe(true);
  });

  it('deletes the plan after a confirmation, tears it down, and is back on the dashboard without it', { timeout: DEPLOY_MS + STEP_MS }, async () => {
    await page.getByRole('button', { name: 'Delete plan' }).click();

    const dialog = page.getByRole('dialog').or(page.getByRole('alertdialog'));
    await dialog.waitFor();
    await screenshot(page, '14-delete-confirmation');
    await dialog.getByRole('button', { name: /^Delete/ }).click();

    await page
      .getByText(/Deleting|Tearing down/i)
      .first()
      .waitFor();
    await screenshot(page, '15-tearing-down');
    await page.waitForURL(/\/plans$/, { timeout: DEPLOY_MS });
    await page.getByRole('heading', { name: 'Plans', exact: true }).waitFor();
    await expect.poll(() => page.getByRole('link', { name: PLAN }).count()).toBe(0);
    expect(psql(connection, 'SELECT 1').ok).toBe(false);
    await screenshot(page, '16-dashboard-after-delete');
  });

  it('threw no uncaught error in the page along the way', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** The connection string as the deployment view shows it, in its read-only field. */
async function connectionString(tab: Page): Promise<string> {
  return deploymentRegion(tab).getByLabel('Connection string', { exact: true }).inputValue();
}

async function clipboard(tab: Page): Promise<string> {
  return tab.evaluate(() => (globalThis as unknown as DomWindow).navigator.clipboard.readText());
}
