import type { ComponentKind } from './draft.svelte.ts';

// Palette and canvas share one drag-and-drop type: only palette items can be dropped on the canvas.
export const PALETTE_ZONE = 'cloudseed-components';

/** A palette item: `palette-<kind>`, or `palette-<kind>-<n>` for the copy that replaces a dragged one. */
export interface PaletteItem {
  id: string;
  kind: ComponentKind;
}

const PALETTE_ID = /^palette-(postgres|app)(?:-\d+)?$/;

/** The kind of the palette item among `items` that was just dropped, if one was. */
export function droppedKind(items: readonly { id: string }[]): ComponentKind | undefined {
  for (const item of items) {
    const kind = PALETTE_ID.exec(item.id)?.[1];
    if (kind === 'postgres' || kind === 'app') return kind;
  }
  return undefined;
}
