import { randomUUID } from 'node:crypto';
import { PlanService } from '@cloudseed/shared/plans/plans';
import type { Target } from '@cloudseed/shared';
import { DynamoDeploymentRepository } from './deployments-repository.ts';
import { documentClient } from './dynamo.ts';
import { mode, requireEnv } from './env.ts';
import { DynamoPlanRepository } from './plans-repository.ts';
import { deploymentsTable, plansTable } from './tables.ts';

const defaultTarget: Target = mode() === 'aws' ? { cloud: 'aws', region: requireEnv('AWS_REGION') } : { cloud: 'local' };

export const planRepository = new DynamoPlanRepository(documentClient, requireEnv(plansTable.env));

export const plans = new PlanService({
  repository: planRepository,
  now: () => new Date(),
  newId: randomUUID,
  defaultTarget,
});

export const deployments = new DynamoDeploymentRepository(documentClient, requireEnv(deploymentsTable.env));
