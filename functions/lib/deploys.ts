import { randomUUID } from 'node:crypto';
import { DeployService } from '@cloudseed/shared/deployments/service';
import { accounts } from './accounts.ts';
import { deployments, plans } from './plans.ts';
import { workflows } from './workflows.ts';

export const deploys = new DeployService({ plans, deployments, accounts, workflows, now: () => new Date(), newId: randomUUID });
