// Palette and canvas share one drag-and-drop type: only palette items can be dropped on the canvas.
export const PALETTE_ZONE = 'cloudseed-components';

export interface PaletteItem {
  id: string;
  kind: 'postgres';
}
