import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../support/local-cloud.ts';

export const SCREENSHOTS = join(repoRoot, 'test', 'artifacts', 'screenshots');

/** Saves the viewport as test/artifacts/screenshots/<name>.png, e.g. `03-dashboard-empty`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
