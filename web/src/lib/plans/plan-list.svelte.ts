import { catalogFor } from '@cloudseed/shared/targets/catalogs';
import { appComponents, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { nodeCount } from '@cloudseed/shared/postgres/nodes';
import { ApiError, SignedOut } from '../api/client.ts';
import type { PlanList as PlanPage, PlanResource, PlanStatus } from '../api/types.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';

// The dashboard's list of plans, kept fresh: every 2 s while a plan is deploying or being deleted
// (its badge should turn green or red as it happens), every 15 s otherwise, and not at all while
// the tab is hidden or the page is gone.

export const FAST_POLL_MS = 2_000;
export const SLOW_POLL_MS = 15_000;
/** 100 plans a page: a safety net, far above what one account holds. */
const MAX_PAGES = 20;

const IN_PROGRESS: ReadonlySet<PlanStatus> = new Set(['deploying', 'stopping', 'starting', 'deleting']);

export interface PlanSource {
  listPlans(nextToken?: string): Promise<PlanPage>;
}

/** What the dashboard shows of a plan, one table row. */
export interface PlanRow {
  readonly id: string;
  readonly name: string;
  readonly href: string;
  /** "Local cloud" or "AWS eu-west-1". */
  readonly target: string;
  /** The first database's EC2 type, or its size when CloudSeed picks the type. */
  readonly instance: string;
  /** e.g. "PostgreSQL 16 · 3 nodes · 1 app". */
  readonly detail: string;
  /** On-demand AWS estimate for every component; undefined when the catalog cannot price one (an app's Fargate tasks, an unknown instance type). */
  readonly monthlyUsd: number | undefined;
  readonly status: PlanStatus;
  readonly statusReason: string | undefined;
  readonly updatedAt: string;
}

export function describePlan(plan: PlanResource): PlanRow {
  const { spec } = plan;
  const databases = postgresComponents(spec);
  const [first, ...others] = databases;
  const nodes = databases.reduce((sum, component) => sum + nodeCount(component), 0);
  const apps = appComponents(spec).length;
  return {
    id: plan.id,
    name: spec.name,
    href: `/plans/${encodeURIComponent(plan.id)}`,
    target: targetLabel(spec.target),
    instance:
      first === undefined
        ? '—'
        : `${catalogFor(spec.target.cloud).hint(first) ?? `${first.hardware.cpus} vCPU · ${first.hardware.memoryGiB} GiB`}${others.length > 0 ? ` + ${others.length} more` : ''}`,
    detail: [
      first ? `PostgreSQL ${first.db.version}` : undefined,
      first || apps === 0 ? `${nodes} ${nodes === 1 ? 'node' : 'nodes'}` : undefined,
      apps > 0 ? `${apps} ${apps === 1 ? 'app' : 'apps'}` : undefined,
    ]
      .filter(Boolean)
      .join(' · '),
    monthlyUsd: monthlyEstimate(plan),
    status: plan.status,
    statusReason: plan.statusReason,
    updatedAt: plan.updatedAt,
  };
}

function targetLabel(target: PlanResource['spec']['target']): string {
  switch (target.cloud) {
    case 'local':
      return 'Local cloud';
    case 'aws':
      return `AWS ${target.region}`;
    case 'gcp':
      return `Google Cloud ${target.zone}`;
    case 'azure':
      return `Azure ${target.region}`;
  }
}

function monthlyEstimate(plan: PlanResource): number | undefined {
  // The instance catalog prices databases only: a plan with an app gets no price rather than a partial one.
  if (appComponents(plan.spec).length > 0) return undefined;
  try {
    const cents = postgresComponents(plan.spec).reduce(
      (sum, component) => sum + Math.round(catalogFor(plan.spec.target.cloud).cost(component).totalUsd * 100),
      0,
    );
    return cents / 100;
  } catch {
    // An instance type the catalog does not know (or no type fits): no price rather than a wrong one.
    return undefined;
  }
}

function newestFirst(a: PlanResource, b: PlanResource): number {
  return b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id);
}

export interface PlanListOptions {
  /** The session ended: the page sends the user to log in. Polling has stopped. */
  readonly onSignedOut?: () => void;
  /** Where visibility changes are heard; the page's document by default. */
  readonly document?: VisibilityTarget;
}

export class PlanList {
  plans = $state.raw<readonly PlanResource[]>([]);
  /** The first answer arrived: until then the page shows that it is loading. */
  loaded = $state(false);
  /** The last refresh failed; the plans shown are the ones from before. */
  error = $state<string | undefined>();
  /** Newest first, so a plan just created is at the top and polling never reorders the table. */
  readonly rows: readonly PlanRow[] = $derived([...this.plans].sort(newestFirst).map((plan) => describePlan(plan)));

  readonly #source: PlanSource;
  readonly #options: PlanListOptions;
  readonly #poller: Poller;
  #inFlight: Promise<void> | undefined;

  constructor(source: PlanSource, options: PlanListOptions = {}) {
    this.#source = source;
    this.#options = options;
    this.#poller = new Poller(
      () => this.refresh(),
      () => this.interval,
      options.document,
    );
  }

  /** A plan is deploying or being deleted: its status will change soon. */
  get busy(): boolean {
    return this.plans.some((plan) => IN_PROGRESS.has(plan.status));
  }

  /** How long until the next refresh. */
  get interval(): number {
    return this.busy ? FAST_POLL_MS : SLOW_POLL_MS;
  }

  /** Monthly estimate of every plan that could be priced. */
  get totalMonthlyUsd(): number {
    return this.rows.reduce((sum, row) => sum + Math.round((row.monthlyUsd ?? 0) * 100), 0) / 100;
  }

  /** Fetches every page of plans now; concurrent calls share one request. */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Loads now and keeps the list fresh until the returned function (or `stop`) is called. */
  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  async #load(): Promise<void> {
    try {
      const plans: PlanResource[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await this.#source.listPlans(nextToken);
        plans.push(...result.items);
        nextToken = result.nextToken;
        if (!nextToken) break;
      }
      this.plans = plans;
      this.error = undefined;
      this.loaded = true;
    } catch (error) {
      if (error instanceof SignedOut) {
        this.stop();
        this.#options.onSignedOut?.();
        return;
      }
      this.error = readableError(error);
    }
  }
}

function readableError(error: unknown): string {
  if (error instanceof ApiError) return `Your plans could not be loaded: ${error.message}`;
  if (error instanceof TypeError) return 'Cannot reach CloudSeed. Check your connection; the list retries on its own.';
  return 'Your plans could not be loaded. Try again in a moment.';
}
