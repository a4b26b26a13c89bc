import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { BrowserTestApi, psql } from './support/api.ts';
import { describeViolations, seriousViolations } from './support/axe.ts';
import { closeTab, launchBrowser, openTab, signInWithStoredSession } from './support/browser.ts';
import type { TestTab } from './support/browser.ts';
import { deploymentRegion } from './support/pages.ts';
import { screenshot } from './support/screenshots.ts';

// The Monitoring tab in Chromium against the real local cloud: a running plan's collector samples
// its server (every second here), and the tab draws charts with points, lists the statements the
// application ran, shows the server's log with a slow statement marked and the password of a
// statement masked, and axe finds nothing serious. The steps share one tab and run in order.

const DEPLOY_MS = 90_000;
const PLAN = 'monitored-db';

const cloud = useLocalCloud({ webApp: true, env: { CLOUDSEED_METRICS_INTERVAL_MS: '1000', CLOUDSEED_ALERTS_INTERVAL_MS: '1000' } });
let browser: Browser;
let api: BrowserTestApi;
let tab: TestTab;
let page: Page;
let planId: string;
const clientDir = mkdtempSync(join(tmpdir(), 'cloudseed-monitoring-client-'));

beforeAll(async () => {
  browser = await launchBrowser();
  api = new BrowserTestApi(cloud.url, cloud.user);
  planId = await api.createLocalPlan(PLAN);
  const { deployment } = await api.deploy(planId);
  if (deployment.status !== 'running') throw new Error(`the plan did not deploy: ${JSON.stringify(deployment)}`);
  const credentials = await api.credentials(planId);
  writeFileSync(join(clientDir, credentials.caFileName), credentials.caCertificate);
  const connection = { uri: credentials.uri, password: credentials.password, cwd: clientDir };
  for (const sql of [
    'CREATE TABLE orders (id int PRIMARY KEY, total int)',
    'INSERT INTO orders SELECT g, g FROM generate_series(1, 500) g',
    'SELECT count(*) FROM orders WHERE total > 10',
    'SELECT pg_sleep(1.1)',
  ]) {
    const result = psql(connection, sql);
    if (!result.ok) throw new Error(`${sql}: ${result.err}`);
  }
  // Refused (no such role), so PostgreSQL logs the statement, password and all.
  psql(connection, "ALTER ROLE nobody PASSWORD 'browser-visible-secret'");
  tab = await openTab(browser, cloud.url);
  page = tab.page;
  page.setDefaultTimeout(20_000);
  await signInWithStoredSession(page, cloud.user);
}, DEPLOY_MS + 30_000);

afterAll(async () => {
  if (tab) await closeTab(tab);
  await browser?.close();
  rmSync(clientDir, { recursive: true, force: true });
});

describe('the Monitoring tab', () => {
  it('draws the node’s charts with points', async () => {
    await page.goto(`/plans/${planId}`);
    await deploymentRegion(page).getByText('Running', { exact: true }).first().waitFor();
    await page.getByRole('tab', { name: 'Monitoring' }).click();
    const cpu = page.getByRole('figure', { name: /^CPU/ });
    // Live: the tab asks again every 10 s, and the collector samples every second.
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 30_000, interval: 1000 }).toBeGreaterThan(0);
    await expect.poll(() => cpu.textContent()).toMatch(/now \d/);
    // uPlot drew it on a canvas of the figure's width.
    const canvas = cpu.locator('canvas');
    await canvas.waitFor();
    expect((await canvas.boundingBox())?.width).toBeGreaterThan(100);
    const connections = page.getByRole('figure', { name: /^Connections/ });
    await expect.poll(() => connections.textContent()).toMatch(/Max\s+now\s+50/);

    await page.getByRole('button', { name: '6h' }).click();
    await expect.poll(() => page.getByRole('button', { name: '6h' }).getAttribute('aria-pressed')).toBe('true');
    await expect.poll(async () => Number(await cpu.getAttribute('data-points'))).toBeGreaterThan(0);
    await screenshot(page, 'monitoring-charts');
  });

  it('lists the application’s top queries', async () => {
    const table = page.getByRole('table', { name: /top statements/ });
    await expect.poll(() => table.textContent()).toContain('SELECT count(*) FROM orders WHERE total > $1');
  });

  it('shows the server log with the slow statement marked and no password', async () => {
    const log = page.getByRole('log', { name: /PostgreSQL log of/ });
    await expect.poll(() => log.textContent()).toContain('slow · 1.1 s');
    await expect.poll(() => log.textContent()).toContain("PASSWORD '********'");
    expect(await page.content()).not.toContain('browser-visible-secret');

    await page.getByRole('searchbox', { name: 'Search the log' }).fill('pg_sleep');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => log.locator('.entry').count()).toBe(1);
  });

  it('shows a firing alert as a banner and in the list, and saves the settings', async () => {
    // A threshold every disk passes.
    const { settings } = (await api.call('GET', `/v1/plan/${planId}/alerts`)).json as { settings: { rules: Record<string, unknown> } };
    const disk = { ...settings, rules: { ...settings.rules, disk: { enabled: true, thresholdPercent: 1 } } };
    expect((await api.call('PUT', `/v1/plan/${planId}/alerts/settings`, { body: disk })).status).toBe(200);
    await page.goto(`/plans/${planId}`);
    const banner = deploymentRegion(page).getByRole('alert').filter({ hasText: 'alert is firing' });
    await banner.waitFor({ timeout: 30_000 });
    await expect.poll(() => banner.textContent()).toMatch(/db-0: disk [\d.]+ % full \(alert above 1 %\)/);
    await banner.getByRole('button', { name: 'See alerts' }).click();
    await page
      .getByRole('list', { name: 'Firing now' })
      .getByText(/disk [\d.]+ % full/)
      .waitFor();

    await page.getByLabel('Alert above (% used)').fill('99');
    await page.getByRole('button', { name: 'Save alert settings' }).click();
    await page.getByText('Saved.').waitFor();
    await expect
      .poll(async () => ((await api.call('GET', `/v1/plan/${planId}/alerts`)).json as { settings: { rules: { disk: unknown } } }).settings.rules.disk)
      .toEqual({ enabled: true, thresholdPercent: 99 });
    await screenshot(page, 'monitoring-alerts');
  });

  it('shows the plan’s CPU and connections as sparklines on the dashboard', async () => {
    await page.goto('/plans');
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: PLAN }) });
    await row.getByRole('img', { name: /^CPU over the last hour: now [\d.]+ %/ }).waitFor();
    await row.getByRole('img', { name: /^Connections over the last hour: now \d+/ }).waitFor();
    await screenshot(page, 'dashboard-sparklines');
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await page.goto(`/plans/${planId}`);
    await page.getByRole('tab', { name: 'Monitoring' }).click();
  });

  it('has no serious accessibility violation', async () => {
    await screenshot(page, 'monitoring');
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
  });
});
