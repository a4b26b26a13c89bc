import type { Locator, Page } from 'playwright-core';
import type { DomElement, DomWindow } from './dom.ts';

// How the tests find and move things on CloudSeed's pages: by role and accessible name only, so
// a test that cannot find something has found a missing name.

/** svelte-dnd-action registers a drop only after the pointer has rested over the target. */
const DROP_HOVER_MS = 200;

export const palette = (page: Page): Locator => page.getByRole('navigation', { name: 'Components' });
/** The palette's PostgreSQL item, whatever role the drag-and-drop library gives it. */
export const palettePostgres = (page: Page): Locator => palette(page).getByLabel('PostgreSQL', { exact: true });
export const canvas = (page: Page): Locator => page.getByRole('region', { name: 'Canvas' });
export const properties = (page: Page): Locator =>
  page.getByRole('complementary', { name: 'Properties' }).or(page.getByRole('region', { name: 'Properties' }));
export const deploymentRegion = (page: Page): Locator => page.getByRole('region', { name: 'Deployment' });
export const backupsRegion = (page: Page): Locator => page.getByRole('region', { name: 'Backups' });
/** The plan's name in the editor's toolbar ("Name"), not "Database name" in the properties. */
export const planName = (page: Page): Locator => page.getByLabel('Name', { exact: true });
export const saveButton = (page: Page): Locator => page.getByRole('button', { name: /^(Save|Saved|Saving…)$/ });
export const deployButton = (page: Page): Locator => page.getByRole('button', { name: 'Deploy', exact: true });

/** The inline error of a field: it must be marked invalid and describe itself by the message. */
export async function fieldError(page: Page, field: Locator): Promise<string> {
  await field.and(page.locator('[aria-invalid="true"]')).waitFor();
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  return texts.join(' ').trim();
}

/** Presses on `source`, moves onto `target` in small steps, rests there, and lets go. */
export async function dragOnto(page: Page, source: Locator, target: Locator): Promise<void> {
  const from = await source.boundingBox();
  const to = await target.boundingBox();
  if (from === null || to === null) throw new Error('drag source or target is not visible');
  const x = to.x + to.width / 2;
  const y = to.y + to.height / 2;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, y, { steps: 15 });
  await page.mouse.move(x + 4, y + 4, { steps: 2 });
  // The one sleep these tests allow: the library's own hover delay before a drop counts.
  await page.waitForTimeout(DROP_HOVER_MS);
  await page.mouse.up();
}

export type Tone = 'green' | 'orange' | 'red' | 'grey' | 'unknown';

/**
 * The colour of the status dot beside `word` (a locator of the status word): the nearest
 * round, filled element among its ancestors' descendants, classified by hue.
 */
export async function statusTone(word: Locator): Promise<Tone> {
  return word.evaluate((element: DomElement): Tone => {
    const view = globalThis as unknown as DomWindow;
    const classify = (colour: string): Tone | undefined => {
      const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)/.exec(colour);
      if (!match) return undefined;
      const [r, g, b, a] = [Number(match[1]), Number(match[2]), Number(match[3]), match[4] === undefined ? 1 : Number(match[4])];
      if (a === 0) return undefined;
      if (Math.max(r, g, b) - Math.min(r, g, b) < 40) return 'grey';
      if (g > r && g > b) return 'green';
      if (r > g && g > b && g > 100) return 'orange';
      if (r > g && r > b) return 'red';
      return undefined;
    };
    for (let scope: DomElement | null = element.parentElement, depth = 0; scope !== null && depth < 3; scope = scope.parentElement, depth++) {
      for (const candidate of scope.querySelectorAll('*')) {
        const style = view.getComputedStyle(candidate);
        if (!style.borderRadius.startsWith('50%')) continue;
        const tone = classify(style.backgroundColor);
        if (tone !== undefined) return tone;
      }
    }
    return 'unknown';
  });
}
