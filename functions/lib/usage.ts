import { documentClient } from './dynamo.ts';
import { requireEnv } from './env.ts';
import { deployments, planRepository } from './plans.ts';
import { limits, Quotas } from './quotas.ts';
import { accountsTable } from './tables.ts';
import { DynamoUsageRepository } from './usage-repository.ts';

// The per-user limits as the API enforces them: usage items live in the accounts table.

export const quotas = new Quotas({
  usage: new DynamoUsageRepository(documentClient, requireEnv(accountsTable.env)),
  plans: planRepository,
  deployments,
  limits,
  now: () => new Date(),
});
