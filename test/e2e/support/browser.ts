import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SignedUpUser } from '../../support/users.ts';

// Debian's Chromium driven by playwright-core: never a downloaded browser.

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
export const VIEWPORT = { width: 1280, height: 800 } as const;

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium).`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A fresh profile (no cookies, no localStorage) on the local cloud's origin. */
export function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  return browser.newContext({ baseURL, viewport: VIEWPORT });
}

/** The tab's uncaught exceptions, to be asserted empty: a page that throws is broken even when it looks right. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
  return errors;
}

/** A test's own profile and tab; `errors` collects what the page threw. */
export interface TestTab {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly errors: readonly string[];
}

/** A fresh profile and tab on the local cloud for one test, with the tests' usual 10 s wait. */
export async function openTab(browser: Browser, baseURL: string): Promise<TestTab> {
  const context = await newContext(browser, baseURL);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page, errors: collectPageErrors(page) };
}

/** Closes the tab's profile, then fails the test if the page threw meanwhile. */
export async function closeTab(tab: TestTab): Promise<void> {
  await tab.context.close();
  if (tab.errors.length > 0) throw new Error(`the page threw:\n${tab.errors.join('\n')}`);
}

const STORAGE_KEY = 'cloudseed.session';

/** The session the web app keeps in localStorage (web/src/lib/auth/session.svelte.ts). */
export function storedSession(user: SignedUpUser): { email: string; accessToken: string; idToken: string; refreshToken: string; expiresAt: number } {
  const payload = JSON.parse(Buffer.from(user.accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
  if (typeof payload.exp !== 'number') throw new Error('the access token carries no exp claim');
  return { email: user.email, accessToken: user.accessToken, idToken: user.idToken, refreshToken: user.refreshToken, expiresAt: payload.exp * 1000 };
}

/**
 * Signs `user` in as the web app would have after its own log-in: the session goes into the
 * origin's localStorage from the prerendered landing page, before any signed-in page loads.
 */
export async function signInWithStoredSession(page: Page, user: SignedUpUser): Promise<void> {
  await page.goto('/');
  await page.evaluate(([key, value]) => localStorage.setItem(key, value), [STORAGE_KEY, JSON.stringify(storedSession(user))] as const);
}
