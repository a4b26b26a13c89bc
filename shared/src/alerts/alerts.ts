import * as z from 'zod';
import type { FieldProblem } from '../errors.ts';
import { toProblems } from '../cs-json/problems.ts';

// Alerts: what the owner of a plan wants to hear about, and when each condition holds. Every
// running deployment is evaluated on a schedule (a minute on AWS, 30 s on the local cloud) against
// its nodes' latest metrics, its health check and its last backup. A condition that starts to hold
// opens one incident and sends one message; while it keeps holding nothing more is sent; when it
// stops, the incident is closed. The same rules on every cloud.

export const ALERT_RULES = ['disk', 'connections', 'replication_lag', 'backup_failed', 'node_down'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

const percent = z.number().min(1, 'must be from 1 to 100').max(100, 'must be from 1 to 100');

export const alertSettingsSchema = z
  .object({
    /** Where each new incident is e-mailed (AWS); none: the alert list and the banner only. */
    email: z.email('must be an e-mail address').max(254).optional(),
    rules: z
      .object({
        disk: z.object({ enabled: z.boolean(), thresholdPercent: percent }).strict(),
        connections: z.object({ enabled: z.boolean(), thresholdPercent: percent }).strict(),
        replication_lag: z.object({ enabled: z.boolean(), thresholdSeconds: z.number().int('must be whole seconds').min(1).max(86_400) }).strict(),
        backup_failed: z.object({ enabled: z.boolean() }).strict(),
        node_down: z.object({ enabled: z.boolean() }).strict(),
      })
      .strict(),
  })
  .strict();

export type AlertSettings = z.infer<typeof alertSettingsSchema>;

/** The body of `PUT /v1/plan/{id}/alerts/settings` as a JSON Schema (2020-12), for the OpenAPI document. */
export const alertSettingsJsonSchema = {
  ...z.toJSONSchema(alertSettingsSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  title: 'Alert settings of a plan',
};

/** What a plan is alerted on until its owner changes it: everything, at thresholds worth waking for. */
export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  rules: {
    disk: { enabled: true, thresholdPercent: 80 },
    connections: { enabled: true, thresholdPercent: 90 },
    replication_lag: { enabled: true, thresholdSeconds: 60 },
    backup_failed: { enabled: true },
    node_down: { enabled: true },
  },
};

export type AlertSettingsResult = { readonly ok: true; readonly settings: AlertSettings } | { readonly ok: false; readonly errors: FieldProblem[] };

export function parseAlertSettings(body: unknown): AlertSettingsResult {
  const parsed = alertSettingsSchema.safeParse(body);
  return parsed.success ? { ok: true, settings: parsed.data } : { ok: false, errors: toProblems(parsed.error.issues) };
}

/** A node's latest figures the rules read (absent: not measured, e.g. lag on a primary). */
export interface NodeFigures {
  readonly component: string;
  readonly node: string;
  readonly diskUsedBytes?: number;
  readonly diskFreeBytes?: number;
  readonly connections?: number;
  readonly maxConnections?: number;
  readonly replicationLagSeconds?: number;
}

/** What the evaluator knows of a deployment now. */
export interface AlertInputs {
  readonly figures: readonly NodeFigures[];
  /** Nodes the health check found down, with its words. */
  readonly downNodes: ReadonlyArray<{ readonly component: string; readonly node: string; readonly detail: string }>;
  /** The last backup failed or did not validate: why. */
  readonly backupFailure?: string;
}

/** One condition that holds now. `key` names it across evaluations: the same key is the same incident. */
export interface Condition {
  readonly key: string;
  readonly rule: AlertRule;
  readonly component?: string;
  readonly node?: string;
  readonly value?: number;
  readonly threshold?: number;
  readonly message: string;
}

const keyOf = (rule: AlertRule, component?: string, node?: string): string => [rule, component ?? '', node ?? ''].join(':');
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** How far below its threshold an open incident's figure must fall to clear (so a figure hovering there is one incident, not many). */
export const CLEAR_MARGIN_PERCENT = 5;
export const CLEAR_MARGIN_SHARE = 0.2;

/**
 * Every condition of the enabled rules that holds now. A condition whose incident is open (its key
 * in `open`) keeps holding until its figure is a margin below the threshold: 5 points of a
 * percentage, a fifth of a lag.
 */
export function conditionsOf(inputs: AlertInputs, settings: AlertSettings, open: ReadonlySet<string> = new Set()): Condition[] {
  const { rules } = settings;
  const found: Condition[] = [];
  const over = (key: string, value: number, threshold: number, margin: number, inclusive = false): boolean => {
    const limit = open.has(key) ? threshold - margin : threshold;
    return inclusive || open.has(key) ? value >= limit : value > limit;
  };
  for (const figures of inputs.figures) {
    const { component, node } = figures;
    const { diskUsedBytes: used, diskFreeBytes: free } = figures;
    if (rules.disk.enabled && used !== undefined && free !== undefined && used + free > 0) {
      const value = round((used / (used + free)) * 100);
      if (over(keyOf('disk', component, node), value, rules.disk.thresholdPercent, CLEAR_MARGIN_PERCENT))
        found.push({
          key: keyOf('disk', component, node),
          rule: 'disk',
          component,
          node,
          value,
          threshold: rules.disk.thresholdPercent,
          message: `${node}: disk ${value} % full (alert above ${rules.disk.thresholdPercent} %)`,
        });
    }
    const { connections, maxConnections } = figures;
    if (rules.connections.enabled && connections !== undefined && maxConnections !== undefined && maxConnections > 0) {
      const value = round((connections / maxConnections) * 100);
      if (over(keyOf('connections', component, node), value, rules.connections.thresholdPercent, CLEAR_MARGIN_PERCENT, true))
        found.push({
          key: keyOf('connections', component, node),
          rule: 'connections',
          component,
          node,
          value,
          threshold: rules.connections.thresholdPercent,
          message: `${node}: ${Math.round(connections)} of ${maxConnections} connections in use (${value} %, alert from ${rules.connections.thresholdPercent} %)`,
        });
    }
    const lag = figures.replicationLagSeconds;
    const { thresholdSeconds } = rules.replication_lag;
    if (
      rules.replication_lag.enabled &&
      lag !== undefined &&
      over(keyOf('replication_lag', component, node), lag, thresholdSeconds, thresholdSeconds * CLEAR_MARGIN_SHARE)
    )
      found.push({
        key: keyOf('replication_lag', component, node),
        rule: 'replication_lag',
        component,
        node,
        value: round(lag),
        threshold: rules.replication_lag.thresholdSeconds,
        message: `${node}: replica ${round(lag)} s behind its primary (alert above ${rules.replication_lag.thresholdSeconds} s)`,
      });
  }
  if (rules.node_down.enabled)
    for (const down of inputs.downNodes)
      found.push({
        key: keyOf('node_down', down.component, down.node),
        rule: 'node_down',
        component: down.component,
        node: down.node,
        message: `${down.node} is down: ${down.detail}`,
      });
  if (rules.backup_failed.enabled && inputs.backupFailure !== undefined)
    found.push({ key: keyOf('backup_failed'), rule: 'backup_failed', message: `The last backup failed: ${inputs.backupFailure}` });
  return found;
}

export type AlertState = 'firing' | 'cleared';

/** An incident as the alert list shows it. */
export interface Alert {
  readonly alertId: string;
  readonly key: string;
  readonly rule: AlertRule;
  readonly state: AlertState;
  readonly component?: string;
  readonly node?: string;
  readonly message: string;
  readonly value?: number;
  readonly threshold?: number;
  readonly firedAt: string;
  readonly clearedAt?: string;
  /** When the one message of this incident went out, and where. */
  readonly notifiedAt?: string;
  readonly notified?: string;
}

/** The one message an incident sends. */
export interface AlertMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export function alertMessage(planName: string, alert: Pick<Alert, 'message' | 'firedAt'>, to: string, link: string | undefined): AlertMessage {
  return {
    to,
    subject: `[CloudSeed] ${planName}: ${alert.message}`,
    text: [
      `An alert of your plan “${planName}” started at ${alert.firedAt}:`,
      '',
      `  ${alert.message}`,
      '',
      'You get one message per incident; the alert list shows when it clears.',
      ...(link ? ['', `Open the plan: ${link}`] : []),
    ].join('\n'),
  };
}
