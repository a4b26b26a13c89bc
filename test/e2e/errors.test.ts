import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { logIn, randomEmail, randomPassword, signUp } from '../support/users.ts';
import type { SignedUpUser } from '../support/users.ts';
import { BrowserTestApi } from './support/api.ts';
import { closeTab, launchBrowser, openTab, signInWithStoredSession } from './support/browser.ts';
import type { TestTab } from './support/browser.ts';
import { canvas, deployButton, deploymentRegion, fieldError, palettePostgres, properties, saveButton, statusTone } from './support/pages.ts';
import { screenshot } from './support/screenshots.ts';

// What a customer sees when something is wrong: their own mistakes, refused with a reason next
// to the field, and the platform's failures, shown red with the step that failed.

const DEPLOY_MS = 60_000;

const cloud = useLocalCloud({ webApp: true });
let browser: Browser;
let tab: TestTab;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tab = await openTab(browser, cloud.url);
  page = tab.page;
});

afterEach(() => closeTab(tab));

describe('logging in', () => {
  let user: SignedUpUser;

  beforeAll(async () => {
    user = await signUp(cloud.config);
  });

  it('refuses a wrong password with "Wrong e-mail address or password." and stays on the page', async () => {
    await page.goto('/login');
    await page.getByLabel('E-mail address').fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(`${user.password}-wrong`);
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByText('Wrong e-mail address or password.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.evaluate(() => localStorage.getItem('cloudseed.session'))).toBeNull();
    await screenshot(page, 'e01-login-wrong-password');
  });

  it('refuses an e-mail address nobody signed up with, with an error', async () => {
    await page.goto('/login');
    await page.getByLabel('E-mail address').fill(randomEmail());
    await page.getByLabel('Password', { exact: true }).fill(randomPassword());
    await page.getByRole('button', { name: 'Log in' }).click();

    const emailField = page.getByLabel('E-mail address');
    const alert = page.getByRole('alert').filter({ hasText: /\S/ });
    await emailField.and(page.locator('[aria-invalid="true"]')).or(alert).first().waitFor();
    const shown = (await alert.count()) > 0 ? await alert.first().textContent() : await fieldError(page, emailField);
    expect(shown).toMatch(/\S/);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.evaluate(() => localStorage.getItem('cloudseed.session'))).toBeNull();
  });

  it('sends a signed-out visitor of /plans to log in, and back to /plans after logging in', async () => {
    await page.goto('/plans');

    await page.waitForURL(/\/login\?next=%2Fplans$/);
    await page.getByLabel('E-mail address').fill(user.email);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/plans$/);
    await page.getByRole('heading', { name: 'Plans', exact: true }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('cloudseed.session'))).toContain(user.email);
  });

  it('logs out from the header, after which /plans asks to log in again', async () => {
    await signInWithStoredSession(page, user);
    await page.goto('/plans');
    await page.getByRole('button', { name: 'Log out' }).click();

    await page.waitForURL(/\/login/);
    expect(await page.evaluate(() => localStorage.getItem('cloudseed.session'))).toBeNull();
    await page.goto('/plans');
    await page.waitForURL(/\/login\?next=%2Fplans$/);
  });
});

describe('signing up', () => {
  it('refuses a weak password inline and creates no account', async () => {
    const email = randomEmail();
    await page.goto('/signup');
    await page.getByLabel('E-mail address').fill(email);
    const passwordField = page.getByLabel('Password', { exact: true });
    await passwordField.fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();

    expect(await fieldError(page, passwordField)).toMatch(/stronger|at least|characters/i);
    expect(new URL(page.url()).pathname).toBe('/signup');
    await screenshot(page, 'e02-signup-weak-password');
    await expect(logIn(cloud.config, email, 'short')).rejects.toThrow();
  });
});

describe('the plan editor', () => {
  let user: SignedUpUser;
  let api: BrowserTestApi;

  beforeAll(async () => {
    user = await signUp(cloud.config);
    api = new BrowserTestApi(cloud.url, user);
  });

  it('shows an inline error for 1 GiB of storage and a bad CIDR, and Deploy stays disabled', async () => {
    const planId = await api.createLocalPlan('invalid-fields');
    await signInWithStoredSession(page, user);
    await page.goto(`/plans/${planId}`);
    await canvas(page).getByText('db', { exact: true }).click();
    await expect.poll(() => deployButton(page).isEnabled()).toBe(true);

    const storage = properties(page).getByLabel('Storage (GiB)');
    await storage.fill('1');
    expect(await fieldError(page, storage)).toMatch(/\S/);
    expect(await deployButton(page).isDisabled()).toBe(true);
    expect(await saveButton(page).isDisabled()).toBe(true);

    await storage.fill('10');
    const cidr = properties(page).getByLabel('Allowed CIDR 1', { exact: true });
    await cidr.fill('10.0.0.0/33');
    expect(await fieldError(page, cidr)).toMatch(/\S/);
    expect(await deployButton(page).isDisabled()).toBe(true);
    await screenshot(page, 'e03-invalid-field');

    await cidr.fill('127.0.0.1/32');
    await expect.poll(() => cidr.getAttribute('aria-invalid')).toBeNull();
  });

  it('keeps Deploy disabled for a new plan until it is valid and saved', async () => {
    await signInWithStoredSession(page, user);
    await page.goto('/plans/new');
    await palettePostgres(page).press('Enter');
    await properties(page).getByLabel('Storage (GiB)').waitFor();
    expect(await deployButton(page).isDisabled()).toBe(true);

    await page.getByLabel('Name', { exact: true }).fill('keyboard-added');
    await expect.poll(() => saveButton(page).isEnabled()).toBe(true);
    expect(await deployButton(page).isDisabled()).toBe(true);
  });

  it('moves a new plan to Google Cloud: asks for the project, prices it there beside AWS and Azure, saves it, and says why it cannot deploy it here', async () => {
    await signInWithStoredSession(page, user);
    await page.goto('/plans/new');
    await page.getByLabel('Name', { exact: true }).fill('on-gcp');
    await palettePostgres(page).press('Enter');
    await properties(page).getByLabel('Storage (GiB)').waitFor();

    await page.getByLabel('Deploy to').selectOption('gcp');
    const project = page.getByLabel('Project', { exact: true });
    expect(await fieldError(page, project)).toMatch(/Google Cloud project id/);
    expect(await saveButton(page).isDisabled()).toBe(true);
    await project.fill('acme-prod-123');
    await page.getByLabel('Region', { exact: true }).selectOption('europe-west4');
    expect(await page.getByLabel('Zone', { exact: true }).inputValue()).toBe('europe-west4-a');
    // Amazon Linux is AWS's own: the database moved to Debian 12 with the plan.
    expect(await properties(page).getByLabel('Operating system').inputValue()).toBe('debian:12');

    const estimate = page.getByRole('region', { name: 'Tuning and cost' });
    await estimate.getByText(/\/ month on Google Cloud/).waitFor();
    for (const cloudName of ['AWS', 'Google Cloud', 'Azure']) await estimate.getByRole('rowheader', { name: cloudName, exact: true }).waitFor();
    await screenshot(page, 'e03b-plan-on-google-cloud');

    await expect.poll(() => saveButton(page).isEnabled()).toBe(true);
    await saveButton(page).click();
    await expect.poll(() => deployButton(page).isEnabled()).toBe(true);
    await deployButton(page).click();
    await page.getByText(/no connected account: a plan on Google Cloud names one of your connected Google Cloud accounts/).waitFor();
  });

  it(
    'shows a failed deploy in red with the failing step, and the dashboard gives the reason on hover and on focus',
    { timeout: DEPLOY_MS + 20_000 },
    async () => {
      const planId = await api.createLocalPlan('fails-at-configure');
      cloud.injectFault('SendConfigure', 'always');
      try {
        await signInWithStoredSession(page, user);
        await page.goto(`/plans/${planId}`);
        await deployButton(page).click();

        const failed = deploymentRegion(page).getByText('Failed', { exact: true }).first();
        await failed.waitFor({ timeout: DEPLOY_MS });
        await expect.poll(() => statusTone(failed), { timeout: 5_000 }).toBe('red');
        await deploymentRegion(page)
          .getByText(/SendConfigure|Send configure/i)
          .first()
          .waitFor();
        await deploymentRegion(page)
          .getByText(/injected fault/)
          .first()
          .waitFor();
        await screenshot(page, 'e04-deploy-failed');
      } finally {
        cloud.clearFaults();
      }
      expect((await api.deployment(planId)).status).toBe('failed');

      await page.goto('/plans');
      const row = page
        .getByRole('row')
        .filter({ has: page.getByRole('link', { name: 'fails-at-configure' }) })
        .or(page.getByRole('listitem').filter({ has: page.getByRole('link', { name: 'fails-at-configure' }) }));
      const status = row.getByText('Failed', { exact: true });
      await status.waitFor();
      await expect.poll(() => statusTone(status), { timeout: 5_000 }).toBe('red');
      const reason = page.getByText(/SendConfigure: injected fault/);

      await status.hover();
      await reason.waitFor({ state: 'visible' });
      await screenshot(page, 'e05-dashboard-failure-reason');
      await page.mouse.move(0, 0);
      await reason.waitFor({ state: 'hidden' });

      await row.getByRole('button', { name: /Failed/ }).focus();
      await reason.waitFor({ state: 'visible' });
    },
  );
});
