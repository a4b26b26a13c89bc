import { Cron } from 'croner';

// Backup schedules are classic 5-field cron (minute hour day-of-month month day-of-week), the
// subset that both the local scheduler and EventBridge Scheduler can express.

const NUMERIC_FIELD = /^(?:\*|\d{1,2}(?:-\d{1,2})?)(?:\/\d{1,2})?(?:,(?:\*|\d{1,2}(?:-\d{1,2})?)(?:\/\d{1,2})?)*$/;
const MONTH_FIELD =
  /^(?:\*|(?:\d{1,2}|[A-Z]{3})(?:-(?:\d{1,2}|[A-Z]{3}))?)(?:\/\d{1,2})?(?:,(?:\*|(?:\d{1,2}|[A-Z]{3})(?:-(?:\d{1,2}|[A-Z]{3}))?)(?:\/\d{1,2})?)*$/;
const WEEKDAY_FIELD = /^(?:\*|(?:[0-7]|[A-Z]{3})(?:-(?:[0-7]|[A-Z]{3}))?)(?:,(?:[0-7]|[A-Z]{3})(?:-(?:[0-7]|[A-Z]{3}))?)*$/;
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

export type CronCheck = { ok: true } | { ok: false; reason: string };

export function checkCron(expression: string, timezone = 'UTC'): CronCheck {
  const fields = expression.split(' ');
  if (fields.length !== 5 || fields.some((field) => field === '')) {
    return { ok: false, reason: 'must be a 5-field cron expression: minute hour day-of-month month day-of-week, separated by single spaces' };
  }
  const [minute = '', hour = '', dayOfMonth = '', month = '', dayOfWeek = ''] = fields;
  if (![minute, hour, dayOfMonth].every((field) => NUMERIC_FIELD.test(field)) || !MONTH_FIELD.test(month)) {
    return { ok: false, reason: 'may use only numbers, *, ranges (a-b), lists (a,b) and steps (/n); months may be JAN-DEC' };
  }
  if (!WEEKDAY_FIELD.test(dayOfWeek)) {
    return { ok: false, reason: 'day-of-week may be *, 0-7 or SUN-SAT, with ranges and lists (no steps)' };
  }
  if (dayOfMonth !== '*' && dayOfWeek !== '*') {
    return { ok: false, reason: 'set day-of-month or day-of-week, not both' };
  }
  try {
    const cron = new Cron(expression, { paused: true, timezone });
    if (!cron.nextRun()) return { ok: false, reason: 'never fires' };
  } catch (error) {
    return { ok: false, reason: (error as Error).message.replace(/^CronPattern: /, '') };
  }
  return { ok: true };
}

/**
 * Refuses a schedule that fires more than once an hour: a tighter schedule is load on the
 * customer's database (and on the platform's workflows), not more protection. Cron fields are independent, so every hour
 * a schedule fires in, it fires at every minute its minute field matches: the whole schedule fires
 * more often than hourly exactly when that field matches two or more minutes. croner itself counts
 * them (the same parser the local scheduler fires with), over one hour in which every minute exists.
 * Call it on an expression checkCron accepted.
 */
export function checkBackupInterval(expression: string): CronCheck {
  const minuteField = expression.split(' ')[0] ?? '';
  const hourStart = new Date(Date.UTC(2000, 0, 1, 0, 0));
  const nextHour = new Date(hourStart.getTime() + 60 * 60 * 1000);
  const minutes = new Cron(`${minuteField} * * * *`, { paused: true, timezone: 'UTC' })
    .nextRuns(60, new Date(hourStart.getTime() - 1))
    .filter((run) => run < nextHour)
    .map((run) => run.getUTCMinutes());
  if (minutes.length <= 1) return { ok: true };
  const shown = minutes.length > 4 ? `${minutes.slice(0, 4).join(', ')}, …` : minutes.join(', ');
  const gap = Math.min(...minutes.slice(1).map((minute, index) => minute - (minutes[index] ?? 0)), 60 - (minutes.at(-1) ?? 0) + (minutes[0] ?? 0));
  return {
    ok: false,
    reason:
      `fires ${minutes.length} times an hour (at minutes ${shown}), as little as ${gap} minute${gap === 1 ? '' : 's'} apart; ` +
      `backups run at most once an hour: give the minute field a single value, e.g. "${minutes[0]} ${expression.split(' ').slice(1).join(' ')}"`,
  };
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function nextRun(expression: string, timezone: string, from: Date): Date | undefined {
  return new Cron(expression, { paused: true, timezone }).nextRun(from) ?? undefined;
}

// EventBridge Scheduler wants six fields, exactly one of day-of-month/day-of-week as '?', and
// counts weekdays 1-7 from Sunday; names sidestep the off-by-one.
export function toScheduleExpression(expression: string): string {
  const [minute, hour, dayOfMonth, month, dayOfWeek] = expression.split(' ');
  if (dayOfWeek === '*') return `cron(${minute} ${hour} ${dayOfMonth} ${month} ? *)`;
  const weekdays = (dayOfWeek ?? '').replace(/\d/g, (digit) => WEEKDAY_NAMES[Number(digit) % 7] ?? digit);
  return `cron(${minute} ${hour} ? ${month} ${weekdays} *)`;
}
