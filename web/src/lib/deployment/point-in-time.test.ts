import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client.ts';
import { checkTarget, formatUtc, fromLocalInput, openWindow, restoreProblems, toLocalInput, utcOffsetLabel } from './point-in-time.ts';

const WINDOW = { earliest: '2026-11-24T09:49:05.512Z', latest: '2026-11-24T11:02:30.000Z' };

describe('reading a datetime-local value in a time zone', () => {
  it('reads Berlin wall-clock time in winter as an hour ahead of UTC', () => {
    expect(fromLocalInput('2026-11-24T10:49:05', 'Europe/Berlin')).toBe('2026-11-24T09:49:05.000Z');
  });

  it('reads Berlin wall-clock time in summer as two hours ahead of UTC', () => {
    expect(fromLocalInput('2026-07-01T12:00:00', 'Europe/Berlin')).toBe('2026-07-01T10:00:00.000Z');
  });

  it('reads New York and Kolkata with their own offsets, and UTC as written', () => {
    expect(fromLocalInput('2026-11-24T04:49:05', 'America/New_York')).toBe('2026-11-24T09:49:05.000Z');
    expect(fromLocalInput('2026-11-24T15:19:05', 'Asia/Kolkata')).toBe('2026-11-24T09:49:05.000Z');
    expect(fromLocalInput('2026-11-24T09:49:05', 'UTC')).toBe('2026-11-24T09:49:05.000Z');
  });

  it('takes a value without seconds, as the input gives one at :00', () => {
    expect(fromLocalInput('2026-11-24T10:49', 'Europe/Berlin')).toBe('2026-11-24T09:49:00.000Z');
  });

  it('reads a time the spring change skips as the clocks show it after the change', () => {
    // Berlin went from 02:00 CET straight to 03:00 CEST on 29 March 2026.
    expect(fromLocalInput('2026-03-29T02:30:00', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z');
  });

  it('refuses what is not a time', () => {
    for (const value of ['', 'yesterday', '2026-02-30T10:00:00', '2026-11-24T25:00:00', '2026-11-24 10:00:00', '2026-11-24T10:61']) {
      expect(fromLocalInput(value, 'Europe/Berlin'), value).toBeUndefined();
    }
  });

  it('writes an instant back as the input’s value in the zone, to the second', () => {
    expect(toLocalInput('2026-11-24T09:49:05.512Z', 'Europe/Berlin')).toBe('2026-11-24T10:49:05');
    expect(toLocalInput('2026-11-24T09:49:05.512Z', 'America/New_York')).toBe('2026-11-24T04:49:05');
    expect(fromLocalInput(toLocalInput('2026-07-01T23:30:00Z', 'Asia/Tokyo'), 'Asia/Tokyo')).toBe('2026-07-01T23:30:00.000Z');
  });
});

describe('wording the window', () => {
  it('names the zone’s offset at that time, and the exact instant in UTC', () => {
    expect(utcOffsetLabel('2026-11-24T09:49:05Z', 'Europe/Berlin')).toBe('UTC+01:00');
    expect(utcOffsetLabel('2026-07-01T09:49:05Z', 'America/New_York')).toBe('UTC−04:00');
    expect(utcOffsetLabel('2026-11-24T09:49:05Z', 'Asia/Kolkata')).toBe('UTC+05:30');
    expect(utcOffsetLabel('2026-11-24T09:49:05Z', 'UTC')).toBe('UTC');
    expect(formatUtc('2026-11-24T09:49:05.512Z')).toBe('2026-11-24 09:49:05 UTC');
  });

  it('is open only once both ends are known', () => {
    expect(openWindow(undefined)).toBeUndefined();
    expect(openWindow({ component: 'db', earliest: null, latest: null })).toBeUndefined();
    expect(openWindow({ component: 'db', ...WINDOW })).toEqual(WINDOW);
  });
});

describe('checking the chosen time', () => {
  it('turns a time inside the window into ISO UTC', () => {
    expect(checkTarget('2026-11-24T11:30:00', WINDOW, 'Europe/Berlin')).toEqual({ targetTime: '2026-11-24T10:30:00.000Z' });
  });

  it('accepts the window’s first second and its last instant', () => {
    expect(checkTarget('2026-11-24T10:49:05', WINDOW, 'Europe/Berlin')).toEqual({ targetTime: '2026-11-24T09:49:05.000Z' });
    expect(checkTarget('2026-11-24T12:02:30', WINDOW, 'Europe/Berlin')).toEqual({ targetTime: '2026-11-24T11:02:30.000Z' });
  });

  it('refuses a time before or after the window, naming the window in the zone', () => {
    const message = 'Choose a time between 2026-11-24 10:49:05 and 2026-11-24 12:02:30.';
    expect(checkTarget('2026-11-24T10:49:04', WINDOW, 'Europe/Berlin')).toEqual({ problem: message });
    expect(checkTarget('2026-11-24T12:02:31', WINDOW, 'Europe/Berlin')).toEqual({ problem: message });
  });

  it('asks for a time when there is none, and refuses one that does not read', () => {
    expect(checkTarget('', WINDOW, 'Europe/Berlin')).toEqual({ problem: 'Choose the date and time to restore to.' });
    expect(checkTarget('2026-13-01T00:00', WINDOW, 'Europe/Berlin')).toEqual({ problem: 'Enter a date and time, e.g. 2026-11-24 09:49:05.' });
  });
});

describe('a refused restore', () => {
  it('puts a 400’s problems next to their fields', () => {
    const error = new ApiError(400, 'Bad Request', 'The request has invalid fields', [
      { path: '/targetTime', message: 'must be inside the recovery window (2026-11-24T09:49:05Z to 2026-11-24T11:02:30Z)' },
      { path: '/confirm', message: 'must be true' },
    ]);

    expect(restoreProblems(error)).toEqual({
      targetTime: 'must be inside the recovery window (2026-11-24T09:49:05Z to 2026-11-24T11:02:30Z)',
      confirm: 'must be true',
    });
  });

  it('shows a problem about another field, and a 409, in the alert', () => {
    expect(restoreProblems(new ApiError(400, 'Bad Request', 'invalid', [{ path: '/', message: 'must be an object' }]))).toEqual({
      alert: '/: must be an object',
    });
    expect(restoreProblems(new ApiError(409, 'Conflict', 'A backup of this plan is running; try again when it has finished.'))).toEqual({
      alert: 'Starting the restore failed: A backup of this plan is running; try again when it has finished.',
    });
  });
});
