import type { Alert, AlertSettings } from '@cloudseed/shared/alerts/alerts';
import { DynamoAlertsRepository } from './alerts-repository.ts';
import { documentClient } from './dynamo.ts';
import { requireEnv } from './env.ts';
import { alertsTable } from './tables.ts';

// A plan's alerts as the API answers them: the owner's settings, the incidents open now and the
// ones that cleared (newest first).

export const alerts = new DynamoAlertsRepository(documentClient, requireEnv(alertsTable.env));

export interface PlanAlertsView {
  readonly settings: AlertSettings;
  readonly firing: readonly Alert[];
  readonly cleared: readonly Alert[];
}

export async function planAlerts(ownerId: string, planId: string): Promise<PlanAlertsView> {
  const [settings, { open, closed }] = await Promise.all([alerts.settings(ownerId, planId), alerts.list(ownerId, planId)]);
  return { settings, firing: [...open].sort((a, b) => (a.firedAt < b.firedAt ? 1 : -1)), cleared: closed };
}
