import { randomUUID } from 'node:crypto';
import { DeployService } from '@cloudseed/shared';
import { deployments, plans } from './plans.ts';
import { workflows } from './workflows.ts';

export const deploys = new DeployService({ plans, deployments, workflows, now: () => new Date(), newId: randomUUID });
