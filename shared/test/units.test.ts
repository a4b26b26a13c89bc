import { describe, expect, it } from 'vitest';
import { formatKb, parseMemory } from '../src/postgres/index.ts';

describe('parseMemory', () => {
  it.each([
    ['16GB', 16 * 1048576],
    ['512MB', 512 * 1024],
    ['1TB', 1073741824],
    ['2048kB', 2048],
    ['16 GB', 16 * 1048576],
    ['16gb', 16 * 1048576],
    ['8Gb', 8 * 1048576],
    ['1KB', 1],
    ['1.5GB', 1572864],
    ['0.5MB', 512],
    ['1.25TB', 1342177280],
  ] as const)('parses %s as %d kB', (text, kb) => {
    expect(parseMemory(text)).toBe(kb);
  });

  it.each([
    '',
    '16',
    'GB',
    '16G',
    '16 G',
    '16B',
    '16PB',
    '-16GB',
    '+16GB',
    '0GB',
    '0.0MB',
    '.5GB',
    '5.GB',
    '1e3GB',
    '16  GB',
    ' 16GB',
    '16GB ',
    '16GB\n',
    '1,5GB',
    '0.5kB',
    '1.1GB', // 1153433.6 kB: not a whole number of kB
    '0x10GB',
    '16GB16',
    '99999999999999TB',
  ])('rejects %j', (text) => {
    expect(() => parseMemory(text)).toThrow(RangeError);
  });

  it('explains what it expected', () => {
    expect(() => parseMemory('16G')).toThrow(/"16G".*kB, MB, GB or TB/);
  });
});

describe('formatKb', () => {
  it.each([
    [4194304, '4GB'],
    [1048576, '1GB'],
    [1572864, '1536MB'],
    [16384, '16MB'],
    [1024, '1MB'],
    [20560, '20560kB'],
    [32, '32kB'],
    [1, '1kB'],
    [2097151, '2097151kB'],
    [6553600, '6400MB'],
  ])('writes %d kB as %s', (kb, text) => {
    expect(formatKb(kb)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s', (kb) => {
    expect(() => formatKb(kb)).toThrow(RangeError);
  });

  it('round-trips with parseMemory', () => {
    for (const text of ['4GB', '1536MB', '20560kB', '32kB']) expect(formatKb(parseMemory(text))).toBe(text);
  });
});
