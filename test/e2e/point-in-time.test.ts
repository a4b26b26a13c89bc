import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../support/api.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { BrowserTestApi, psql } from './support/api.ts';
import { describeViolations, seriousViolations } from './support/axe.ts';
import { closeTab, launchBrowser, openTab, signInWithStoredSession } from './support/browser.ts';
import type { TestTab } from './support/browser.ts';
import { deploymentRegion, statusTone } from './support/pages.ts';
import { screenshot } from './support/screenshots.ts';

// Point-in-time recovery through the browser: a running local plan with a backup in its pgBackRest
// repository shows the window a restore can reach; the dialog restores the cluster in place to a
// chosen second and the plan comes back green. psql proves the time was honoured: a row committed
// before it is there, one committed after it is gone. The steps share one tab and run in order.

const DEPLOY_MS = 90_000;
const BACKUP_MS = 120_000;
const RESTORE_MS = 90_000;
const PLAN = 'pitr-db';

interface RecoveryWindowView {
  earliest: string | null;
  latest: string | null;
}

const cloud = useLocalCloud({ webApp: true });
let browser: Browser;
let tab: TestTab;
let page: Page;
let api: BrowserTestApi;
let planId: string;
let connection: { uri: string; password: string; cwd: string };
let failedStep: string | undefined;
/** Where psql runs, with the plan's CA certificate saved under the name the connection string gives. */
const clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-pitr-client-'));

beforeAll(async () => {
  browser = await launchBrowser();
  api = new BrowserTestApi(cloud.url, cloud.user);
  planId = await api.createLocalPlan(PLAN);
  const { deployment } = await api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the plan did not deploy: ${JSON.stringify(deployment)}`);
  const credentials = await api.credentials(planId);
  writeFileSync(join(clientDir, credentials.caFileName), credentials.caCertificate);
  connection = { uri: credentials.uri, password: credentials.password, cwd: clientDir };
  tab = await openTab(browser, cloud.url);
  page = tab.page;
  page.setDefaultTimeout(15_000);
  await signInWithStoredSession(page, cloud.user);
}, DEPLOY_MS + 30_000);

afterAll(async () => {
  if (tab) await closeTab(tab);
  await browser?.close();
  rmSync(clientDir, { recursive: true, force: true });
});

beforeEach(({ task, skip, onTestFailed }) => {
  if (failedStep !== undefined) skip(`an earlier step failed: ${failedStep}`);
  onTestFailed(async () => {
    failedStep = task.name;
    await screenshot(page, 'failed-point-in-time-step').catch(() => undefined);
  });
});

const recoveryRegion = (on: Page) => on.getByRole('region', { name: 'Point-in-time recovery' });

async function recoveryWindow(): Promise<RecoveryWindowView> {
  const response = await api.call<RecoveryWindowView>('GET', `/v1/plan/${planId}/recovery-window`);
  if (response.status !== 200) throw new Error(`GET recovery-window answered ${response.status}: ${response.text}`);
  return response.json;
}

describe('point-in-time recovery in the deployment view', () => {
  it('shows the window once a backup is in the repository', { timeout: BACKUP_MS + 30_000 }, async () => {
    expect(psql(connection, "CREATE TABLE pitr_marker (note text); INSERT INTO pitr_marker VALUES ('kept')").ok).toBe(true);
    const backup = await api.backUp(planId, BACKUP_MS);
    expect(backup, JSON.stringify(backup)).toMatchObject({ status: 'succeeded', validation: { status: 'passed' } });
    const opened = await until(recoveryWindow, (found) => found.earliest !== null && found.latest !== null, 30_000);

    await page.goto(`/plans/${planId}`);
    await deploymentRegion(page).getByText('Running', { exact: true }).first().waitFor();
    const region = recoveryRegion(page);
    await region.getByText(/Any second from/).waitFor();
    expect(await region.locator('time').first().getAttribute('datetime')).toBe(opened.earliest);
    expect(await region.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    await screenshot(page, 'pitr-01-window');
  });

  it('restores to the latest second through the dialog and comes back green', { timeout: RESTORE_MS + 30_000 }, async () => {
    await recoveryRegion(page).getByRole('button', { name: 'Restore to a point in time' }).click();
    const dialog = page.getByRole('dialog', { name: `Restore “${PLAN}” to a point in time?` });
    await dialog.waitFor();
    const chosen = await dialog.getByLabel('Restore to').inputValue();
    expect(chosen).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/);
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, 'pitr-02-dialog');

    // Committed after the time the dialog offers: the restore must not bring it back.
    expect(psql(connection, "INSERT INTO pitr_marker VALUES ('lost')").ok).toBe(true);
    await dialog.getByRole('checkbox', { name: new RegExp(`Rewind “${PLAN}”`) }).check();
    await dialog.getByRole('button', { name: 'Restore to this time' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const deployment = deploymentRegion(page);
    const restoring = deployment.getByText('Deploying', { exact: true }).first();
    await restoring.waitFor();
    await expect.poll(() => statusTone(restoring), { timeout: 5_000 }).toBe('orange');
    await deployment.getByText('Restore to the point in time').first().waitFor();

    const running = deployment.getByText('Running', { exact: true }).first();
    await running.waitFor({ timeout: RESTORE_MS });
    await expect.poll(() => statusTone(running), { timeout: 5_000 }).toBe('green');
    const steps = deployment.getByRole('list', { name: /steps/i }).first().getByRole('listitem');
    expect(await steps.filter({ hasText: /failed/i }).count()).toBe(0);
    expect((await api.deployment(planId)).mode).toBe('restore');
    await expect.poll(() => psql(connection, 'SELECT note FROM pitr_marker ORDER BY note').out, { timeout: 15_000, interval: 250 }).toBe('kept');
    await screenshot(page, 'pitr-03-restored');
  });

  it('shows the window again after the restore', async () => {
    await recoveryRegion(page)
      .getByText(/Any second from/)
      .waitFor({ timeout: 30_000 });
    expect(await recoveryRegion(page).getByRole('button', { name: 'Restore to a point in time' }).isEnabled()).toBe(true);
  });
});
