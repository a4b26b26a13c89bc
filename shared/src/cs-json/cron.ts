import { Cron } from 'croner';

// Backup schedules are classic 5-field cron (minute hour day-of-month month day-of-week), the
// subset that both the local scheduler and EventBridge Scheduler can express.

const NUMERIC_FIELD = /^(?:\*|\d{1,2}(?:-\d{1,2})?)(?:\/\d{1,2})?(?:,(?:\*|\d{1,2}(?:-\d{1,2})?)(?:\/\d{1,2})?)*$/;
const MONTH_FIELD = /^(?:\*|(?:\d{1,2}|[A-Z]{3})(?:-(?:\d{1,2}|[A-Z]{3}))?)(?:\/\d{1,2})?(?:,(?:\*|(?:\d{1,2}|[A-Z]{3})(?:-(?:\d{1,2}|[A-Z]{3}))?)(?:\/\d{1,2})?)*$/;
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
