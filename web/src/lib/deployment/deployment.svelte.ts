import { ApiError, SignedOut } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import type { Deployment, PlanStatus } from '../api/types.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';
import { describeError, timelineRows, type TimelineRow } from './format.ts';

// A plan's deployment as the deployment view shows it, kept fresh: every second while it deploys,
// restores or is torn down (the steps move), every 10 s otherwise (health, the next backup), not
// while the tab is hidden, and not at all once the view is gone or the plan has been deleted.

export const FAST_POLL_MS = 1_000;
export const SLOW_POLL_MS = 10_000;

const IN_PROGRESS: ReadonlySet<PlanStatus> = new Set(['deploying', 'stopping', 'starting', 'deleting']);

/** The part of the API the deployment view uses; tests hand in a fake. */
export type DeploymentClient = Pick<
  ApiClient,
  | 'deployment'
  | 'credentials'
  | 'backups'
  | 'runBackup'
  | 'restoreBackup'
  | 'validateBackup'
  | 'backupDownload'
  | 'recoveryWindow'
  | 'restoreToPoint'
  | 'componentLogs'
  | 'rollback'
  | 'putSecrets'
  | 'metrics'
  | 'topQueries'
  | 'resetQueries'
  | 'serverLog'
  | 'alerts'
  | 'putAlertSettings'
  | 'stopPlan'
  | 'startPlan'
  | 'rolePassword'
>;

export interface DeploymentStateOptions {
  /** Told whenever the status or its reason changes, and once with the first answer. */
  readonly onstatus?: (status: PlanStatus, reason: string | undefined) => void;
  /** The plan no longer exists (its teardown finished). Polling has stopped. */
  readonly ongone?: () => void;
  /** The session ended. Polling has stopped. */
  readonly onsignedout?: () => void;
  /** Where visibility changes are heard; the page's document by default. */
  readonly document?: VisibilityTarget;
}

export class DeploymentState {
  deployment = $state.raw<Deployment | undefined>();
  /** The last refresh failed; what is shown is from before. */
  error = $state<string | undefined>();
  /** The plan has been deleted: GET answered 404. */
  gone = $state(false);

  readonly status: PlanStatus | undefined = $derived(this.deployment?.status);
  readonly busy: boolean = $derived(this.status !== undefined && IN_PROGRESS.has(this.status));
  readonly timeline: readonly TimelineRow[] = $derived(this.deployment ? timelineRows(this.deployment) : []);

  readonly #client: DeploymentClient;
  readonly #planId: string;
  readonly #options: DeploymentStateOptions;
  readonly #poller: Poller;
  #inFlight: Promise<void> | undefined;
  #again = false;
  #told: string | undefined;
  #goneWaiters: (() => void)[] = [];

  constructor(client: DeploymentClient, planId: string, options: DeploymentStateOptions = {}) {
    this.#client = client;
    this.#planId = planId;
    this.#options = options;
    this.#poller = new Poller(
      () => this.refresh(),
      () => this.interval,
      options.document,
    );
  }

  /** How long until the next refresh. */
  get interval(): number {
    return this.busy ? FAST_POLL_MS : SLOW_POLL_MS;
  }

  /**
   * Fetches the deployment now. A call while a request is out asks again once it answers, so a
   * caller that just started a deploy always sees the state from after it.
   */
  refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = (async () => {
      do {
        this.#again = false;
        await this.#load();
      } while (this.#again && !this.gone);
    })().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Refreshes now and then at the pace the status asks for, restarting the wait. */
  refreshSoon(): Promise<void> {
    return this.#poller.runNow();
  }

  /** Loads now and keeps the deployment fresh until the returned function (or `stop`) is called. */
  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  /** Resolves once the plan is gone (GET answers 404): after a delete answered 202, its teardown has finished. */
  waitUntilGone(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => this.#goneWaiters.push(resolve));
  }

  async #load(): Promise<void> {
    try {
      const deployment = await this.#client.deployment(this.#planId);
      this.deployment = deployment;
      this.error = undefined;
      this.#tell(deployment);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#markGone();
        return;
      }
      if (error instanceof SignedOut) {
        this.stop();
        this.error = error.message;
        this.#options.onsignedout?.();
        return;
      }
      this.error = describeError(error, 'Refreshing the deployment');
    }
  }

  #tell(deployment: Deployment): void {
    const key = `${deployment.status}\n${deployment.reason ?? ''}`;
    if (key === this.#told) return;
    this.#told = key;
    this.#options.onstatus?.(deployment.status, deployment.reason);
  }

  #markGone(): void {
    this.gone = true;
    this.stop();
    for (const resolve of this.#goneWaiters.splice(0)) resolve();
    this.#options.ongone?.();
  }
}

/** What `waitUntilGone` needs of the API. */
export type PlanLookup = Pick<ApiClient, 'getPlan'>;

export type TeardownOutcome = { readonly gone: true } | { readonly gone: false; readonly status: PlanStatus; readonly reason?: string };

/**
 * After DELETE answered 202: polls GET /v1/plan/{id} until it answers 404 (the teardown finished
 * and the plan is gone) or the plan leaves "deleting" some other way (the teardown failed: the
 * plan stays, red, with the reason). Stops early, unresolved, when `signal` aborts.
 */
export function waitUntilGone(
  client: PlanLookup,
  planId: string,
  options: { readonly intervalMs?: number; readonly signal?: AbortSignal } = {},
): Promise<TeardownOutcome> {
  const interval = options.intervalMs ?? FAST_POLL_MS;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => clearTimeout(timer);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const check = async () => {
      if (options.signal?.aborted) return;
      try {
        const { value: plan } = await client.getPlan(planId);
        if (plan.status !== 'deleting') {
          options.signal?.removeEventListener('abort', onAbort);
          resolve({ gone: false, status: plan.status, ...(plan.statusReason ? { reason: plan.statusReason } : {}) });
          return;
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          options.signal?.removeEventListener('abort', onAbort);
          resolve({ gone: true });
          return;
        }
        if (error instanceof SignedOut) {
          reject(error);
          return;
        }
        // Anything else (a blip in the connection): ask again on the next beat.
      }
      if (!options.signal?.aborted) timer = setTimeout(() => void check(), interval);
    };
    void check();
  });
}
