import type { FieldProblem } from '../errors.ts';
import { isMetricName, METRIC_NAMES } from './catalog.ts';
import type { MetricName } from './catalog.ts';

// A metrics request, `?names=…&from=…&to=…&step=…`, checked as the API takes it: every problem
// names its query parameter (`?names`), as the other endpoints' do.

/** The longest range one request covers: what the local cloud keeps. */
export const MAX_RANGE_SECONDS = 24 * 60 * 60;
/** The most points a series may have: a day of one-minute steps. */
export const MAX_POINTS = 1440;
export const MAX_NAMES = 12;
/** The steps a request may ask for, in seconds: a node samples every 10 s locally, every 60 s in a cloud. */
export const STEPS = [10, 60, 300, 900, 3600] as const;
/** Without `from`, the last hour. */
const DEFAULT_RANGE_SECONDS = 3600;

export interface MetricsQuery {
  readonly names: readonly MetricName[];
  /** Seconds since the epoch, inclusive; a multiple of `step`. */
  readonly from: number;
  /** Seconds since the epoch, exclusive. */
  readonly to: number;
  readonly step: number;
}

export type MetricsQueryResult = { readonly ok: true; readonly query: MetricsQuery } | { readonly ok: false; readonly errors: FieldProblem[] };

/** `from` and `to` are ISO times or seconds since the epoch; `step` is seconds; `now` ends a range with no `to`. */
export function parseMetricsQuery(params: Readonly<Record<string, string | undefined>>, now: Date): MetricsQueryResult {
  const errors: FieldProblem[] = [];
  const names = (params['names'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) errors.push({ path: '?names', message: `must name one or more metrics: ${METRIC_NAMES.join(', ')}` });
  else if (names.length > MAX_NAMES) errors.push({ path: '?names', message: `may name at most ${MAX_NAMES} metrics` });
  const unknown = names.filter((name) => !isMetricName(name));
  if (unknown.length > 0)
    errors.push({ path: '?names', message: `${unknown.join(', ')} is not a metric; the metrics are ${METRIC_NAMES.join(', ')}` });

  const step = params['step'] === undefined ? 60 : Number(params['step']);
  if (!(STEPS as readonly number[]).includes(step)) errors.push({ path: '?step', message: `must be one of ${STEPS.join(', ')} (seconds)` });

  const to = params['to'] === undefined ? now.getTime() / 1000 : timeOf(params['to']);
  if (to === undefined) errors.push({ path: '?to', message: 'must be an ISO 8601 time or seconds since the epoch' });
  const from = params['from'] === undefined ? (to ?? 0) - DEFAULT_RANGE_SECONDS : timeOf(params['from']);
  if (from === undefined) errors.push({ path: '?from', message: 'must be an ISO 8601 time or seconds since the epoch' });
  if (from !== undefined && to !== undefined) {
    if (from >= to) errors.push({ path: '?from', message: 'must be before to' });
    else if (to - from > MAX_RANGE_SECONDS) errors.push({ path: '?from', message: `must be at most ${MAX_RANGE_SECONDS / 3600} hours before to` });
    else if ((STEPS as readonly number[]).includes(step) && (to - from) / step > MAX_POINTS)
      errors.push({ path: '?step', message: `gives more than ${MAX_POINTS} points over this range; ask for a longer step` });
  }
  if (errors.length > 0 || from === undefined || to === undefined) return { ok: false, errors };
  // Steps start on multiples of the step, so the same range always gives the same buckets.
  return { ok: true, query: { names: [...new Set(names)] as MetricName[], from: Math.floor(from / step) * step, to, step } };
}

function timeOf(value: string): number | undefined {
  if (/^\d{1,12}(\.\d+)?$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : millis / 1000;
}
