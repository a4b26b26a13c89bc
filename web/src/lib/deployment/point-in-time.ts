import { ApiError } from '../api/client.ts';
import type { RecoveryWindow } from '../api/types.ts';
import { describeError } from './format.ts';

// Point-in-time recovery as the deployment view words it: the window, and the time a customer
// picks in an <input type="datetime-local">, which holds a wall-clock time with no zone. The
// view reads that time in the browser's zone (and says which); the API gets it as UTC.

/** The browser's time zone, e.g. "Europe/Berlin". */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const wallClocks = new Map<string, Intl.DateTimeFormat>();

function wallClock(timeZone: string): Intl.DateTimeFormat {
  let format = wallClocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallClocks.set(timeZone, format);
  }
  return format;
}

/** The wall-clock time in `timeZone` at `ms`, as UTC milliseconds of the same fields (whole seconds). */
function wallClockMs(ms: number, timeZone: string): number {
  const parts = Object.fromEntries(
    wallClock(timeZone)
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  const field = (name: string) => Number(parts[name] ?? Number.NaN);
  return Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'), field('second'));
}

/** How far `timeZone` is ahead of UTC at `ms`, in milliseconds. */
function offsetMs(ms: number, timeZone: string): number {
  return wallClockMs(ms, timeZone) - Math.floor(ms / 1000) * 1000;
}

/** An instant as a datetime-local value in `timeZone`, to the second: `2026-11-24T10:49:05`. */
export function toLocalInput(iso: string, timeZone: string): string {
  return new Date(wallClockMs(Date.parse(iso), timeZone)).toISOString().slice(0, 19);
}

const LOCAL_INPUT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?(?:\.\d+)?$/;

/**
 * A datetime-local value (seconds optional: the input leaves out ":00") read in `timeZone`, as
 * ISO UTC; undefined when it is not a time. A wall-clock time that a daylight-saving change skips
 * is read as the clocks would show it after the change (02:30 becomes 03:30), as Date does.
 */
export function fromLocalInput(value: string, timeZone: string): string | undefined {
  const match = LOCAL_INPUT.exec(value);
  if (!match) return undefined;
  const written = `${match[1] ?? ''}${match[2] ?? ':00'}`;
  const wall = Date.parse(`${written}Z`);
  // Date.parse rolls 25:00 or 30 February over into a valid time: refuse what does not read back.
  if (Number.isNaN(wall) || new Date(wall).toISOString().slice(0, 19) !== written) return undefined;
  // The offset at the wall time read as UTC is right except near a change; one more look settles it.
  const first = wall - offsetMs(wall, timeZone);
  const second = wall - offsetMs(first, timeZone);
  return new Date(wallClockMs(second, timeZone) === wall ? second : Math.max(first, second)).toISOString();
}

/** "UTC+01:00" for Berlin in winter, "UTC" for UTC. */
export function utcOffsetLabel(iso: string, timeZone: string): string {
  const minutes = Math.round(offsetMs(Date.parse(iso), timeZone) / 60_000);
  if (minutes === 0) return 'UTC';
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '−' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** `2026-11-24 09:49:05 UTC`: the exact instant, for a tooltip beside the local time. */
export function formatUtc(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The window once there is a backup to restore from. */
export type OpenWindow = { readonly earliest: string; readonly latest: string };

export function openWindow(answer: RecoveryWindow | undefined): OpenWindow | undefined {
  return answer?.earliest && answer.latest ? { earliest: answer.earliest, latest: answer.latest } : undefined;
}

/** What the dialog's fields say is wrong, by field; `alert` for what belongs to no field. */
export interface RestoreProblems {
  readonly targetTime?: string;
  readonly confirm?: string;
  readonly alert?: string;
}

/** The chosen time as ISO UTC, or why it cannot be restored to. The API checks again: the window moves. */
export function checkTarget(value: string, range: OpenWindow, timeZone: string): { readonly targetTime: string } | { readonly problem: string } {
  if (value.trim() === '') return { problem: 'Choose the date and time to restore to.' };
  const targetTime = fromLocalInput(value, timeZone);
  if (targetTime === undefined) return { problem: 'Enter a date and time, e.g. 2026-11-24 09:49:05.' };
  // The input has whole seconds: the earliest second counts even when the window opens inside it.
  const earliest = Math.floor(Date.parse(range.earliest) / 1000) * 1000;
  const at = Date.parse(targetTime);
  if (at < earliest || at > Date.parse(range.latest)) {
    return {
      problem: `Choose a time between ${toLocalInput(range.earliest, timeZone).replace('T', ' ')} and ${toLocalInput(range.latest, timeZone).replace('T', ' ')}.`,
    };
  }
  return { targetTime };
}

/** A refused restore, put where the dialog shows it: a 400's field problems next to their fields, anything else in the dialog's alert. */
export function restoreProblems(error: unknown): RestoreProblems {
  if (error instanceof ApiError && error.status === 400 && error.errors.length > 0) {
    const about = (path: string) =>
      error.errors
        .filter((problem) => problem.path === path)
        .map((problem) => problem.message)
        .join(' ') || undefined;
    const others = error.errors.filter((problem) => problem.path !== '/targetTime' && problem.path !== '/confirm');
    const targetTime = about('/targetTime');
    const confirm = about('/confirm');
    return {
      ...(targetTime ? { targetTime } : {}),
      ...(confirm ? { confirm } : {}),
      ...(others.length > 0 ? { alert: others.map((problem) => `${problem.path}: ${problem.message}`).join(' ') } : {}),
    };
  }
  return { alert: describeError(error, 'Starting the restore') };
}
