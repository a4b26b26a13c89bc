import { describe, expect, it } from 'vitest';
import { safeNext } from './next.ts';

describe('where log in sends the user (?next=)', () => {
  it('keeps a same-origin path with its query and hash', () => {
    expect(safeNext('/plans/42?tab=backups#latest')).toBe('/plans/42?tab=backups#latest');
    expect(safeNext('/plans/new')).toBe('/plans/new');
  });

  it('goes to the dashboard without a next', () => {
    expect(safeNext(null)).toBe('/plans');
    expect(safeNext(undefined)).toBe('/plans');
    expect(safeNext('')).toBe('/plans');
  });

  it.each([
    '//evil.example/plans',
    '/\\evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    'plans',
    '/\t/evil.example',
    '/\n/evil.example',
  ])('refuses %j, which could leave the origin', (next) => {
    expect(safeNext(next)).toBe('/plans');
  });

  it('does not send the user back to a sign-in page', () => {
    expect(safeNext('/login?next=/plans')).toBe('/plans');
    expect(safeNext('/signup/')).toBe('/plans');
  });
});
