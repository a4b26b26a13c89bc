import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Conflict, DomainError } from '@cloudseed/shared/errors';
import { nodeCount } from '@cloudseed/shared/postgres/nodes';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import type { Plan } from '@cloudseed/shared';
import type { DynamoDeploymentRepository } from './deployments-repository.ts';
import { positiveIntegerEnv } from './env.ts';
import type { DynamoPlanRepository } from './plans-repository.ts';
import type { Claim, DynamoUsageRepository, Usage } from './usage-repository.ts';

// Limits that keep one customer from using up what all of them share: how many plans they keep,
// how many database nodes their deployed plans run, and how many backups and restores they start
// by hand in a day. Scheduled backups do not count: a schedule fires at most hourly (cs-json), and
// counting it would let on-demand use crowd out the backups a customer relies on.
//
// Capacity (plans, nodes) is counted from the tables themselves, so deleting a plan frees its slot
// without any bookkeeping; a short-lived claim on the owner's usage item (usage-repository.ts)
// covers the create or deploy between the count and its own write, so two requests racing for
// the last slot cannot both take it.

export interface QuotaLimits {
  readonly plans: number;
  readonly runningNodes: number;
  readonly backupsPerDay: number;
}

/** Generous for a team, and a stop for a script gone wrong or an abusive sign-up. */
export const DEFAULT_LIMITS: QuotaLimits = { plans: 50, runningNodes: 20, backupsPerDay: 48 };

/** The limits this deployment enforces, read once at cold start; the local cloud's functions read the same variables. */
export const limits: QuotaLimits = {
  plans: positiveIntegerEnv('CLOUDSEED_MAX_PLANS', DEFAULT_LIMITS.plans),
  runningNodes: positiveIntegerEnv('CLOUDSEED_MAX_RUNNING_NODES', DEFAULT_LIMITS.runningNodes),
  backupsPerDay: positiveIntegerEnv('CLOUDSEED_MAX_BACKUPS_PER_DAY', DEFAULT_LIMITS.backupsPerDay),
};

/** A capacity limit the request would pass: answered 409, nothing stored. */
export class LimitReached extends DomainError {
  override readonly name = 'LimitReached';
}

/** A rate limit the request would pass: answered 429 with Retry-After, nothing stored. */
export class RateLimited extends DomainError {
  override readonly name = 'RateLimited';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface QuotaDependencies {
  readonly usage: Pick<DynamoUsageRepository, 'get' | 'replaceClaims' | 'dropClaim' | 'countBackup' | 'uncountBackup'>;
  readonly plans: Pick<DynamoPlanRepository, 'count'>;
  readonly deployments: Pick<DynamoDeploymentRepository, 'listDeployedComponents'>;
  readonly limits: QuotaLimits;
  readonly now: () => Date;
  readonly newToken?: () => string;
}

/** A claim older than this no longer counts: its request has stored its work, or died. Far longer than either takes. */
const CLAIM_TTL_MS = 60_000;
/** Attempts at writing a claim while other requests of the same owner write theirs. */
const WRITE_ATTEMPTS = 20;
/** Counts again while other claims are live and the limit is reached: they may be about to end. */
const WAITS = 6;
const RETRY_MS = 25;

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** Database servers count against the quota; an app's instances run elsewhere (a process locally, Fargate tasks on AWS). */
export function nodesOf(spec: Pick<Plan, 'components'>): number {
  return postgresComponents(spec).reduce((sum, component) => sum + nodeCount(component), 0);
}

export class Quotas {
  readonly #deps: QuotaDependencies;
  readonly #newToken: () => string;

  constructor(deps: QuotaDependencies) {
    this.#deps = deps;
    this.#newToken = deps.newToken ?? randomUUID;
  }

  /** Runs `create`, which stores one new plan, if the owner has fewer plans than the limit. */
  async createPlan<T>(ownerId: string, create: () => Promise<T>): Promise<T> {
    const { plans: limit } = this.#deps.limits;
    const token = await this.#claim(ownerId, async (claims, at) => {
      // Counted up to the limit only: whether it is reached is all that matters here.
      const stored = await this.#deps.plans.count(ownerId, limit);
      const current = stored + claims.filter((claim) => claim.kind === 'plan').length;
      if (current >= limit) {
        throw new LimitReached(
          `You have ${plural(current, 'plan')}, and an account may have at most ${limit}; delete a plan you no longer need to create another.`,
        );
      }
      return { kind: 'plan', at };
    });
    try {
      return await create();
    } finally {
      await this.#deps.usage.dropClaim(ownerId, token);
    }
  }

  /**
   * Runs `deploy`, which deploys `spec` as plan `planId`, if the owner's deployed plans would then
   * run no more nodes than the limit. A redeploy that does not add nodes always may.
   */
  async deployPlan<T>(ownerId: string, planId: string, spec: Pick<Plan, 'components'>, deploy: () => Promise<T>): Promise<T> {
    const { runningNodes: limit } = this.#deps.limits;
    const wanted = nodesOf(spec);
    const token = await this.#claim(ownerId, async (claims, at) => {
      const perPlan = new Map<string, number>();
      for (const deployment of await this.#deps.deployments.listDeployedComponents(ownerId)) {
        // A first deployment that failed before it launched anything runs nothing.
        if (deployment.status === 'failed' && !deployment.components?.length) continue;
        perPlan.set(deployment.planId, nodesOf(deployment.spec));
      }
      // A deploy still starting may be about to replace what its plan runs: count the larger.
      for (const claim of claims) if (claim.kind === 'nodes') perPlan.set(claim.planId, Math.max(perPlan.get(claim.planId) ?? 0, claim.nodes));
      const before = perPlan.get(planId) ?? 0;
      const others = [...perPlan.entries()].filter(([id]) => id !== planId).reduce((sum, [, nodes]) => sum + nodes, 0);
      if (wanted > before && others + wanted > limit) {
        throw new LimitReached(
          `Your deployed plans run ${plural(others + before, 'node')}, and an account may run at most ${limit}; ` +
            `this plan would ${before === 0 ? 'add' : `go from ${before} to`} ${plural(wanted, 'node')}. Delete a deployed plan or deploy fewer replicas.`,
        );
      }
      return { kind: 'nodes', planId, nodes: wanted, at };
    });
    try {
      return await deploy();
    } finally {
      await this.#deps.usage.dropClaim(ownerId, token);
    }
  }

  /** Runs `start`, which starts an on-demand backup or a restore, if the owner started fewer than the limit today (UTC). */
  async startBackup<T>(ownerId: string, start: () => Promise<T>): Promise<T> {
    const { backupsPerDay: limit } = this.#deps.limits;
    const now = this.#deps.now();
    const day = now.toISOString().slice(0, 10);
    if ((await this.#deps.usage.countBackup(ownerId, day, limit)) === undefined) {
      const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
      const seconds = Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
      throw new RateLimited(
        `You have started ${limit === 1 ? '1 backup or restore' : `${limit} backups and restores`} today, the most an account may start in a day (scheduled backups do not count); ` +
          `the count starts again at midnight UTC, in ${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min.`,
        seconds,
      );
    }
    try {
      return await start();
    } catch (error) {
      // It did not start: it does not count.
      await this.#deps.usage.uncountBackup(ownerId, day);
      throw error;
    }
  }

  /**
   * Writes a claim decided from the owner's live claims, if no other claim was written meanwhile
   * (else decides again); returns its token. A refusal while other claims are live waits for them
   * to end first: their work may already be stored and counted twice.
   */
  async #claim(ownerId: string, decide: (claims: readonly Claim[], at: string) => Promise<Claim>): Promise<string> {
    const token = this.#newToken();
    let waits = 0;
    for (let attempt = 1; ; attempt++) {
      const usage: Usage = await this.#deps.usage.get(ownerId);
      const now = this.#deps.now();
      const live = Object.fromEntries(Object.entries(usage.claims).filter(([, claim]) => now.getTime() - Date.parse(claim.at) < CLAIM_TTL_MS));
      let claim: Claim;
      try {
        claim = await decide(Object.values(live), now.toISOString());
      } catch (error) {
        if (error instanceof LimitReached && Object.keys(live).length > 0 && waits < WAITS) {
          await sleep(RETRY_MS * 2 ** waits++);
          continue;
        }
        throw error;
      }
      if (await this.#deps.usage.replaceClaims(ownerId, usage, { ...live, [token]: claim })) return token;
      if (attempt >= WRITE_ATTEMPTS) throw new Conflict('Too many of your requests change your plans at once; try again.');
      await sleep(RETRY_MS * Math.random() * Math.min(attempt, 8));
    }
  }
}
