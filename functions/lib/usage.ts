import { documentClient } from './dynamo.ts';
import { positiveIntegerEnv, requireEnv } from './env.ts';
import { deployments, planRepository } from './plans.ts';
import { DEFAULT_LIMITS, Quotas } from './quotas.ts';
import type { QuotaLimits } from './quotas.ts';
import { accountsTable } from './tables.ts';
import { DynamoUsageRepository } from './usage-repository.ts';

// The per-user limits, read once at cold start; the local cloud's functions read the same variables.

export const limits: QuotaLimits = {
  plans: positiveIntegerEnv('CLOUDSEED_MAX_PLANS', DEFAULT_LIMITS.plans),
  runningNodes: positiveIntegerEnv('CLOUDSEED_MAX_RUNNING_NODES', DEFAULT_LIMITS.runningNodes),
  backupsPerDay: positiveIntegerEnv('CLOUDSEED_MAX_BACKUPS_PER_DAY', DEFAULT_LIMITS.backupsPerDay),
};

export const quotas = new Quotas({
  usage: new DynamoUsageRepository(documentClient, requireEnv(accountsTable.env)),
  plans: planRepository,
  deployments,
  limits,
  now: () => new Date(),
});
