// Where the arrow of a link between two cards runs: from the edge of one card to the edge of the
// other, along the line between their centres, in the coordinates of the layer it is drawn on.

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Segment {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/** The segment from `from`'s border to `to`'s border, `gap` px short of each. */
export function linkSegment(from: Box, to: Box, gap = 4): Segment {
  const a = { x: from.left + from.width / 2, y: from.top + from.height / 2 };
  const b = { x: to.left + to.width / 2, y: to.top + to.height / 2 };
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy);
  if (length === 0) return { x1: a.x, y1: a.y, x2: b.x, y2: b.y };
  // How far along the centre line each border is crossed, as a fraction of the whole line.
  const exit = (box: Box) => Math.min(dx === 0 ? Infinity : box.width / 2 / Math.abs(dx), dy === 0 ? Infinity : box.height / 2 / Math.abs(dy));
  const start = Math.min(0.5, exit(from) + gap / length);
  const end = Math.max(0.5, 1 - exit(to) - gap / length);
  return { x1: a.x + dx * start, y1: a.y + dy * start, x2: a.x + dx * end, y2: a.y + dy * end };
}
