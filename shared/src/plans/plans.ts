import type { Plan, Target } from '../cs-json/schema.ts';
import { validatePlan } from '../cs-json/validate.ts';
import { planStatus, statusReason } from '../deployments/deployments.ts';
import type { DeploymentRecord } from '../deployments/deployments.ts';
import { NotFound, PreconditionFailed, ValidationFailed } from '../errors.ts';

// Plans as customers own them: a validated cs-json spec with a version for optimistic
// concurrency. The storage behind it is a port; DynamoDB and tests plug in their own.

export const planStatuses = ['not_deployed', 'deploying', 'stopping', 'starting', 'running', 'degraded', 'failed', 'deleting', 'stopped'] as const;
export type PlanStatus = (typeof planStatuses)[number];

export interface PlanRecord {
  readonly ownerId: string;
  readonly id: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly spec: Plan;
}

/** What the API returns for a plan: the record without its owner key, with the status of its deployment. */
export interface PlanResource {
  readonly id: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly spec: Plan;
  readonly status: PlanStatus;
  /** Why the status is red. */
  readonly statusReason?: string;
}

export interface PlanPage {
  readonly items: readonly PlanRecord[];
  /** The id to continue after, when there may be more. */
  readonly lastId?: string;
}

export interface PlanRepository {
  /** Stores a new plan; the id must not exist yet. */
  create(record: PlanRecord): Promise<void>;
  get(ownerId: string, id: string): Promise<PlanRecord | undefined>;
  list(ownerId: string, options: { limit: number; afterId?: string }): Promise<PlanPage>;
  /** Replaces the plan if its stored version is still `expectedVersion`; NotFound or PreconditionFailed otherwise. */
  replace(record: PlanRecord, expectedVersion: number): Promise<void>;
  /** Deletes the plan, if given only while its version is still `expectedVersion`. */
  delete(ownerId: string, id: string, expectedVersion?: number): Promise<void>;
}

export interface PlanServiceDependencies {
  readonly repository: PlanRepository;
  readonly now: () => Date;
  readonly newId: () => string;
  /** Target a shorthand body deploys to (it names none). */
  readonly defaultTarget: Target;
}

export const PLAN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

export function toResource(record: PlanRecord, deployment?: DeploymentRecord): PlanResource {
  const { id, version, createdAt, updatedAt, spec } = record;
  const reason = statusReason(deployment);
  return { id, version, createdAt, updatedAt, spec, status: planStatus(deployment), ...(reason ? { statusReason: reason } : {}) };
}

/** A strong entity tag for a plan version. */
export function etagOf(record: Pick<PlanRecord, 'version'>): string {
  return `"${record.version}"`;
}

/**
 * The version an If-Match header pins, `undefined` when the header is absent or `*`.
 * A header naming no version this API could have issued matches nothing.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined | 'none' {
  if (header === undefined || header.trim() === '*') return undefined;
  const tags = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  const versions = tags.map((tag) => /^"([1-9]\d{0,9})"$/.exec(tag)?.[1]).filter((version) => version !== undefined);
  return versions.length === 1 ? Number(versions[0]) : 'none';
}

export class PlanService {
  readonly #deps: PlanServiceDependencies;

  constructor(deps: PlanServiceDependencies) {
    this.#deps = deps;
  }

  async create(ownerId: string, body: unknown): Promise<PlanRecord> {
    const spec = this.#validate(body);
    const now = this.#deps.now().toISOString();
    const record: PlanRecord = { ownerId, id: this.#deps.newId(), version: 1, createdAt: now, updatedAt: now, spec };
    await this.#deps.repository.create(record);
    return record;
  }

  async get(ownerId: string, id: string): Promise<PlanRecord> {
    const record = PLAN_ID.test(id) ? await this.#deps.repository.get(ownerId, id) : undefined;
    if (!record) throw new NotFound(`There is no plan ${id}.`);
    return record;
  }

  list(ownerId: string, options: { limit?: number; afterId?: string } = {}): Promise<PlanPage> {
    return this.#deps.repository.list(ownerId, {
      limit: options.limit ?? DEFAULT_PAGE_SIZE,
      ...(options.afterId ? { afterId: options.afterId } : {}),
    });
  }

  async update(ownerId: string, id: string, body: unknown, ifMatch?: string): Promise<PlanRecord> {
    const spec = this.#validate(body);
    const current = await this.get(ownerId, id);
    const pinned = versionFromIfMatch(ifMatch);
    if (pinned !== undefined && pinned !== current.version) {
      throw new PreconditionFailed(
        `The plan has changed since you read it (it is at version ${current.version}); read it again and reapply your change.`,
      );
    }
    const record: PlanRecord = { ...current, spec, version: current.version + 1, updatedAt: this.#deps.now().toISOString() };
    await this.#deps.repository.replace(record, current.version);
    return record;
  }

  async delete(ownerId: string, id: string, ifMatch?: string): Promise<void> {
    const current = await this.get(ownerId, id);
    const pinned = versionFromIfMatch(ifMatch);
    if (pinned !== undefined && pinned !== current.version) {
      throw new PreconditionFailed(`The plan has changed since you read it (it is at version ${current.version}).`);
    }
    await this.#deps.repository.delete(ownerId, id, current.version);
  }

  #validate(body: unknown): Plan {
    const result = validatePlan(body, { defaultTarget: this.#deps.defaultTarget });
    if (!result.ok) throw new ValidationFailed(result.errors, 'The plan is not valid; see errors for each field.');
    return result.plan;
  }
}
