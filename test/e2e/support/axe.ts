import axe from 'axe-core';
import type { AxeResults, Result } from 'axe-core';
import type { Page } from 'playwright-core';

// axe-core in the page under test. The app's Content-Security-Policy forbids injected <script>
// tags, so the library is evaluated through the DevTools protocol, which the policy does not govern.

const BLOCKING = new Set(['serious', 'critical']);

/** The violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<Result[]> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(axe.source);
  const results: AxeResults = await page.evaluate(() => {
    const view = globalThis as unknown as { axe: typeof axe; document: never };
    return view.axe.run(view.document, { resultTypes: ['violations'] });
  });
  return results.violations.filter((violation) => BLOCKING.has(violation.impact ?? ''));
}

/** One line per failing element: rule id, its target, what the rule asks for. */
export function describeViolations(violations: readonly Result[]): string {
  return violations
    .flatMap((violation) =>
      violation.nodes.map((node) =>
        `${violation.id} (${violation.impact ?? 'unknown'}) at ${JSON.stringify(node.target)}: ${violation.help} — ${node.failureSummary ?? ''}`.replaceAll(
          '\n',
          ' ',
        ),
      ),
    )
    .join('\n');
}
