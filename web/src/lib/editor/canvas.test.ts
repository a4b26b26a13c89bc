import { render, screen, within } from '@testing-library/svelte';
import { flushSync, tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import Canvas from './canvas.svelte';
import { newPlan, PlanDraft } from './draft.svelte.ts';

// The canvas: a card per component, and an arrow from each app to the database it uses.

function planWithAppAndDatabase() {
  const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
  draft.add('16');
  const app = draft.addApp();
  app.source.repoUrl = 'https://github.com/acme/shop.git';
  return draft;
}

function renderCanvas(draft: PlanDraft, onadd = vi.fn()) {
  const result = render(Canvas, {
    components: draft.plan.components,
    links: draft.links,
    selectedId: draft.selectedId,
    problemCount: () => 0,
    onadd,
    onselect: vi.fn(),
  });
  return { ...result, onadd };
}

/** Lets the canvas's observers see the DOM change and draw again. */
async function redraw(): Promise<void> {
  await tick();
  await Promise.resolve();
  flushSync();
}

/** Lays the cards out in a row, 300 px apart in the order they are on the canvas, as a browser would. */
function layOutInARow() {
  return vi.spyOn(Element.prototype, 'getBoundingClientRect').mockImplementation(function (this: Element) {
    const cards = [...document.querySelectorAll('[data-component-id]')];
    const index = cards.indexOf(this);
    if (index === -1) return DOMRect.fromRect({ x: 0, y: 0, width: 1000, height: 400 });
    return DOMRect.fromRect({ x: 20 + index * 300, y: 20, width: 260, height: 100 });
  });
}

afterEach(() => vi.restoreAllMocks());

describe('the canvas', () => {
  it('shows an app as a card with its repository and the database it uses', () => {
    renderCanvas(planWithAppAndDatabase());

    const card = screen.getByRole('button', { name: /^app App/ });
    expect(card.textContent).toContain('github.com/acme/shop @ main');
    expect(card.textContent).toContain('uses postgres');
  });

  it('draws a labelled arrow from an app to its database', () => {
    renderCanvas(planWithAppAndDatabase());

    const link = within(screen.getByRole('group', { name: 'Links between components' })).getByRole('img', { name: 'app uses postgres' });
    expect(link.querySelector('line')?.getAttribute('marker-end')).toMatch(/^url\(#link-arrow-/);
  });

  it('draws no arrow for an app without a database, and one as soon as it names one', async () => {
    const draft = planWithAppAndDatabase();
    const app = draft.plan.components[1];
    if (app?.type !== 'app') throw new Error('fixture has an app');
    delete app.database;
    const { rerender } = renderCanvas(draft);
    expect(screen.queryByRole('img', { name: /uses/ })).toBeNull();

    app.database = { component: 'postgres' };
    await rerender({ links: draft.links });

    expect(screen.getByRole('img', { name: 'app uses postgres' })).toBeTruthy();
  });

  it('moves the arrow with the cards when the layout changes', async () => {
    layOutInARow();
    const draft = planWithAppAndDatabase();
    renderCanvas(draft);
    await redraw();
    const line = () => screen.getByRole('img', { name: 'app uses postgres' }).querySelector('line');
    // postgres at x 20–280, app at x 320–580: the arrow runs from the app's left border to the database's right one.
    expect(Number(line()?.getAttribute('x1'))).toBe(316);
    expect(Number(line()?.getAttribute('x2'))).toBe(284);

    // A second database placed before both shifts them one slot to the right.
    draft.add('16');
    const [first, second, third] = draft.plan.components.splice(0, 3);
    if (!first || !second || !third) throw new Error('three components');
    draft.plan.components.push(third, first, second);
    await redraw();

    expect(Number(line()?.getAttribute('x1'))).toBe(616);
    expect(Number(line()?.getAttribute('x2'))).toBe(584);
  });

  it('adds an app when an App service is dropped from the palette', () => {
    const { onadd } = renderCanvas(new PlanDraft(newPlan({ cloud: 'local' }), false));
    const zone = screen.getByRole('region', { name: 'Canvas' }).querySelector('.zone');

    zone?.dispatchEvent(
      new CustomEvent('finalize', {
        detail: { items: [{ id: 'palette-app-1', kind: 'app' }], info: { trigger: 'droppedIntoZone', id: 'palette-app-1', source: 'pointer' } },
      }),
    );

    expect(onadd).toHaveBeenCalledExactlyOnceWith('app');
  });
});
