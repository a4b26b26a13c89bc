import { Logger } from '@aws-lambda-powertools/logger';
import { alertMessage, conditionsOf } from '@cloudseed/shared/alerts/alerts';
import type { Alert, AlertInputs, Condition, NodeFigures } from '@cloudseed/shared/alerts/alerts';
import { Conflict } from '@cloudseed/shared/errors';
import type { MetricName } from '@cloudseed/shared/metrics/catalog';
import type { DeploymentRecord } from '@cloudseed/shared';
import { newSesNotifier, OutboxNotifier } from '../lib/alert-notifier.ts';
import type { AlertNotifier } from '../lib/alert-notifier.ts';
import { alerts } from '../lib/alerts.ts';
import { mode, optionalEnv, requireEnv } from '../lib/env.ts';
import { planMetrics } from '../lib/metrics.ts';
import { deployments } from '../lib/plans.ts';

// Evaluates every running deployment's alert rules (shared/src/alerts/alerts.ts) against its
// nodes' latest metrics, its health check and its last backup: a condition that starts to hold
// opens one incident and sends its one message; one that stops closes it. Runs on a schedule:
// EventBridge every minute on AWS, a timer in the local cloud.

const logger = new Logger({ serviceName: 'cloudseed-alerts' });

/** How far back a node's latest figures are looked for: a cloud node's reach CloudWatch a minute or two after it samples. */
const FRESH_SECONDS = 300;
const NAMES: MetricName[] = [
  'disk_used_bytes',
  'disk_free_bytes',
  'connections_active',
  'connections_idle',
  'connections_max',
  'replication_lag_seconds',
];

let notifier: AlertNotifier | undefined | null;

function notifierFor(): AlertNotifier | undefined {
  if (notifier === undefined) {
    const from = optionalEnv('ALERTS_FROM_ADDRESS');
    notifier = mode() === 'local' ? new OutboxNotifier(requireEnv('CLOUDSEED_HOME')) : from ? newSesNotifier(from) : null;
  }
  return notifier ?? undefined;
}

/** Each node's newest value of each metric the rules read, from the last five minutes. */
async function figuresOf(deployment: DeploymentRecord, now: number): Promise<NodeFigures[]> {
  const to = Math.floor(now / 1000);
  let metrics;
  try {
    metrics = await planMetrics(deployment.ownerId, deployment.planId, { names: NAMES, from: to - FRESH_SECONDS, to: to + 1, step: 10 });
  } catch (error) {
    // Where metrics are not collected, only the health and backup rules apply.
    if (error instanceof Conflict) return [];
    throw error;
  }
  return metrics.components.flatMap((component) =>
    component.nodes.map((node) => {
      const latest = (name: MetricName): number | undefined =>
        node.series
          .find((series) => series.name === name)
          ?.points.map(([, value]) => value)
          .filter((value): value is number => value !== null)
          .at(-1);
      const active = latest('connections_active');
      const idle = latest('connections_idle');
      const figures: Record<string, number | string | undefined> = {
        component: component.id,
        node: node.name,
        diskUsedBytes: latest('disk_used_bytes'),
        diskFreeBytes: latest('disk_free_bytes'),
        connections: active === undefined && idle === undefined ? undefined : (active ?? 0) + (idle ?? 0),
        maxConnections: latest('connections_max'),
        replicationLagSeconds: latest('replication_lag_seconds'),
      };
      return Object.fromEntries(Object.entries(figures).filter(([, value]) => value !== undefined)) as unknown as NodeFigures;
    }),
  );
}

export async function alertInputs(deployment: DeploymentRecord, now: number): Promise<AlertInputs> {
  const downNodes = (deployment.components ?? []).flatMap((component) =>
    component.nodes
      .filter((node) => node.healthy === false)
      .map((node) => ({ component: component.id, node: node.name, detail: node.detail ?? 'no health report' })),
  );
  return {
    figures: await figuresOf(deployment, now),
    downNodes,
    ...(deployment.backupFailure ? { backupFailure: `${deployment.backupFailure.step}: ${deployment.backupFailure.reason}` } : {}),
  };
}

/** Whether what was read now can say a condition no longer holds (a node without fresh figures cannot). */
function measured(inputs: AlertInputs, alert: { rule: string; component?: string; node?: string }): boolean {
  if (alert.rule === 'node_down' || alert.rule === 'backup_failed') return true;
  const figures = inputs.figures.find((entry) => entry.component === alert.component && entry.node === alert.node);
  if (!figures) return false;
  if (alert.rule === 'disk') return figures.diskUsedBytes !== undefined;
  if (alert.rule === 'connections') return figures.connections !== undefined;
  // A replica that became primary has no lag to measure: its lag alert is over.
  return true;
}

export async function evaluateDeployment(deployment: DeploymentRecord, now = Date.now()): Promise<{ opened: number; closed: number }> {
  const { ownerId, planId } = deployment;
  const at = new Date(now).toISOString();
  const [settings, current, inputs] = await Promise.all([
    alerts.settings(ownerId, planId),
    alerts.list(ownerId, planId),
    alertInputs(deployment, now),
  ]);
  const conditions = conditionsOf(inputs, settings, new Set(current.open.map((alert) => alert.key)));
  let opened = 0;
  let closed = 0;
  for (const condition of conditions) {
    const open = current.open.find((alert) => alert.key === condition.key);
    if (open) {
      if (open.message !== condition.message) await alerts.update(ownerId, planId, open, condition);
      continue;
    }
    const alert = await alerts.open(ownerId, planId, condition, at);
    if (!alert) continue;
    opened += 1;
    logger.info('alert opened', { planId, key: condition.key, message: condition.message });
    await notify(deployment, alert, settings.email, condition);
  }
  for (const alert of current.open) {
    const holds = conditions.some((condition: Condition) => condition.key === alert.key);
    const ruleOff = !settings.rules[alert.rule].enabled;
    if (holds || (!ruleOff && !measured(inputs, alert))) continue;
    await alerts.close(ownerId, planId, alert, at, current.closed);
    closed += 1;
    logger.info('alert cleared', { planId, key: alert.key });
  }
  return { opened, closed };
}

async function notify(deployment: DeploymentRecord, alert: Alert, email: string | undefined, condition: Condition): Promise<void> {
  const sender = notifierFor();
  if (!sender || !email) return;
  const webOrigin = optionalEnv('WEB_ORIGIN');
  const message = alertMessage(deployment.spec.name, alert, email, webOrigin ? `${webOrigin}/plans/${deployment.planId}` : undefined);
  try {
    const to = await sender.send(message);
    await alerts.markNotified(deployment.ownerId, deployment.planId, alert, to, new Date().toISOString());
  } catch (error) {
    // The incident stays open and listed; the message is not retried (one incident, at most one message).
    logger.error('alert message not sent', { planId: deployment.planId, key: condition.key, error: error as Error });
  }
}

export async function evaluateAll(now = Date.now()): Promise<number> {
  const running = await deployments.listByStatus(['running']);
  const results = await Promise.allSettled(running.map((deployment) => evaluateDeployment(deployment, now)));
  for (const result of results) if (result.status === 'rejected') logger.error('alert evaluation failed', result.reason as Error);
  return running.length;
}

export const handler = async (): Promise<{ evaluated: number }> => ({ evaluated: await evaluateAll() });
