import { describe, expect, it } from 'vitest';
import { linkSegment } from './links.ts';

describe('a link’s arrow', () => {
  it('runs between the facing borders of two cards side by side, a few pixels short of each', () => {
    const app = { left: 0, top: 0, width: 100, height: 50 };
    const database = { left: 200, top: 0, width: 100, height: 50 };

    expect(linkSegment(app, database, 4)).toEqual({ x1: 104, y1: 25, x2: 196, y2: 25 });
  });

  it('leaves through the bottom border towards a card below', () => {
    const app = { left: 0, top: 0, width: 260, height: 100 };
    const database = { left: 0, top: 200, width: 260, height: 100 };

    expect(linkSegment(app, database, 0)).toEqual({ x1: 130, y1: 100, x2: 130, y2: 200 });
  });
});
