import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import type { SignedUpUser } from '../support/users.ts';
import { BrowserTestApi } from './support/api.ts';
import { describeViolations, seriousViolations } from './support/axe.ts';
import { closeTab, launchBrowser, openTab, signInWithStoredSession } from './support/browser.ts';
import type { TestTab } from './support/browser.ts';
import { canvas, deploymentRegion, palettePostgres, properties } from './support/pages.ts';
import { screenshot } from './support/screenshots.ts';

// axe-core on every page in the states a customer meets them: no violation of impact serious or
// critical. Each failure names the rule, the element and what the rule asks for.

const cloud = useLocalCloud({ webApp: true });
let browser: Browser;
let tab: TestTab;
let page: Page;
let user: SignedUpUser;
let api: BrowserTestApi;
let runningPlanId: string;

beforeAll(async () => {
  browser = await launchBrowser();
  user = cloud.user;
  api = new BrowserTestApi(cloud.url, user);
  runningPlanId = await api.createLocalPlan('accessible-db');
  const { deployment: deployed } = await api.deploy(runningPlanId);
  if (deployed.status !== 'running') throw new Error(`the plan for the deployment view did not deploy: ${JSON.stringify(deployed)}`);
  await api.createLocalPlan('never-deployed');
}, 90_000);

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tab = await openTab(browser, cloud.url);
  page = tab.page;
});

afterEach(() => closeTab(tab));

async function expectAccessible(name: string): Promise<void> {
  await screenshot(page, `a11y-${name}`);
  const violations = await seriousViolations(page);
  expect(violations, `${name}:\n${describeViolations(violations)}`).toEqual([]);
}

describe('signed out', () => {
  it('the landing page', async () => {
    await page.goto('/');
    await page.getByRole('link', { name: 'Get started' }).first().waitFor();
    await expectAccessible('landing');
  });

  it('sign up, with an inline error showing', async () => {
    await page.goto('/signup');
    await page.getByLabel('E-mail address').fill('someone@example.com');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await expectAccessible('sign-up');
  });

  it('log in, with the wrong-password error showing', async () => {
    await page.goto('/login');
    await page.getByLabel('E-mail address').fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill('Not-the-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong e-mail address or password.').waitFor();
    await expectAccessible('log-in');
  });

  it('confirm, where a code from the e-mail is entered', async () => {
    await page.goto(`/confirm?email=${encodeURIComponent(user.email)}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await expectAccessible('confirm');
  });
});

describe('signed in', () => {
  beforeEach(async () => {
    await signInWithStoredSession(page, user);
  });

  it('the dashboard with a running and a never-deployed plan', async () => {
    await page.goto('/plans');
    await page.getByRole('link', { name: 'accessible-db' }).waitFor();
    await page.getByText('Running', { exact: true }).first().waitFor();
    await expectAccessible('dashboard');
  });

  it('the AWS accounts page', async () => {
    await page.goto('/accounts');
    await page.getByRole('heading', { name: 'AWS accounts' }).waitFor();
    await expectAccessible('accounts');
  });

  it('the editor, empty', async () => {
    await page.goto('/plans/new');
    await palettePostgres(page).waitFor();
    await canvas(page).waitFor();
    await expectAccessible('editor-empty');
  });

  it('the editor with a component selected', async () => {
    await page.goto('/plans/new');
    await palettePostgres(page).press('Enter');
    await properties(page).getByLabel('Storage (GiB)').waitFor();
    await expectAccessible('editor-selected');
  });

  it('the page of a plan that does not exist (deleted, or an old link)', async () => {
    await page.goto('/plans/00000000-0000-4000-8000-000000000000');
    await page.getByText(/no such plan/i).waitFor();
    await expectAccessible('plan-not-found');
  });

  it('the deployment view of a running plan', async () => {
    await page.goto(`/plans/${runningPlanId}`);
    await deploymentRegion(page).getByText('Running', { exact: true }).first().waitFor();
    await expect.poll(() => deploymentRegion(page).getByLabel('Connection string', { exact: true }).inputValue()).toMatch(/^postgresql:\/\//);
    await expectAccessible('deployment-running');
  });

  it('the delete confirmation dialog', async () => {
    await page.goto(`/plans/${runningPlanId}`);
    await page.getByRole('button', { name: 'Delete plan' }).click();
    const dialog = page.getByRole('dialog').or(page.getByRole('alertdialog'));
    await dialog.waitFor();
    await expectAccessible('delete-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await api.deployment(runningPlanId)).status).toBe('running');
  });

  // A full pgBackRest backup and its restore-validation first: a minute or two with another file running beside it.
  it('the restore confirmation dialog', { timeout: 180_000 }, async () => {
    const backup = await api.backUp(runningPlanId, 150_000);
    expect(backup, JSON.stringify(backup)).toMatchObject({ status: 'succeeded', validation: { status: 'passed' } });
    await page.goto(`/plans/${runningPlanId}`);
    await page.getByRole('region', { name: 'Backups' }).getByRole('button', { name: 'Restore' }).first().click();
    const dialog = page.getByRole('dialog').or(page.getByRole('alertdialog'));
    await dialog.waitFor();
    await expectAccessible('restore-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });
});
