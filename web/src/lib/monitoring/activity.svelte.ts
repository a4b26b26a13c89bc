import { ApiError, SignedOut } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import type { LogEntry, QueryOrder, TopQuery } from '../api/types.ts';
import { describeError } from '../deployment/format.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';

// What a database is doing, for the Monitoring tab: its top statements (pg_stat_statements, in the
// order chosen, reset on demand) and one node's PostgreSQL log, live while the tab is open and
// narrowed by a search.

export const QUERIES_LIMIT = 20;
export const SERVER_LOG_TAIL = 300;
export const SERVER_LOG_POLL_MS = 5_000;
/** A cloud node's log is read on the node through its command channel: seconds a read, so less often. */
export const CLOUD_SERVER_LOG_POLL_MS = 30_000;

export const ORDER_WORDS: Record<QueryOrder, string> = {
  total_time: 'Total time',
  mean_time: 'Mean time',
  calls: 'Calls',
  rows: 'Rows',
  shared_blocks_read: 'Blocks read',
};

/** A 409 says why there is nothing to show (not running, not read on this cloud): its words are the message. */
function reasonOf(error: unknown, doing: string): string {
  return error instanceof ApiError && error.status === 409 ? error.message : describeError(error, doing);
}

export class TopQueriesView {
  order = $state<QueryOrder>('total_time');
  queries = $state.raw<readonly TopQuery[]>([]);
  loaded = $state(false);
  loading = $state(false);
  resetting = $state(false);
  error = $state<string | undefined>();

  readonly #client: Pick<ApiClient, 'topQueries' | 'resetQueries'>;
  readonly #planId: string;
  readonly #component: string;

  constructor(client: Pick<ApiClient, 'topQueries' | 'resetQueries'>, planId: string, component: string) {
    this.#client = client;
    this.#planId = planId;
    this.#component = component;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.queries = (await this.#client.topQueries(this.#planId, this.#component, this.order, QUERIES_LIMIT)).queries;
      this.error = undefined;
    } catch (error) {
      this.error = reasonOf(error, 'Loading the top queries');
    } finally {
      this.loading = false;
      this.loaded = true;
    }
  }

  async sortBy(order: QueryOrder): Promise<void> {
    this.order = order;
    await this.load();
  }

  /** Starts the counts again; the list is empty until the application runs statements. */
  async reset(): Promise<void> {
    this.resetting = true;
    try {
      await this.#client.resetQueries(this.#planId, this.#component);
      await this.load();
    } catch (error) {
      this.error = reasonOf(error, 'Resetting the counts');
    } finally {
      this.resetting = false;
    }
  }
}

export class ServerLogView {
  entries = $state.raw<readonly LogEntry[]>([]);
  nodes = $state.raw<readonly string[]>([]);
  /** The node read; unset until the first answer names the primary. */
  node = $state<string | undefined>();
  /** The search the entries answer. */
  search = $state('');
  loaded = $state(false);
  error = $state<string | undefined>();

  readonly #client: Pick<ApiClient, 'serverLog'>;
  readonly #planId: string;
  readonly #component: string;
  readonly #poller: Poller;
  #request = 0;

  constructor(
    client: Pick<ApiClient, 'serverLog'>,
    planId: string,
    component: string,
    options: { pollMs?: number; document?: VisibilityTarget } = {},
  ) {
    this.#client = client;
    this.#planId = planId;
    this.#component = component;
    const pollMs = options.pollMs ?? SERVER_LOG_POLL_MS;
    this.#poller = new Poller(
      () => this.refresh(),
      () => pollMs,
      options.document,
    );
  }

  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  /** Reads another node, or the same one with another search, now. */
  async show(change: { node?: string; search?: string }): Promise<void> {
    if (change.node !== undefined) this.node = change.node;
    if (change.search !== undefined) this.search = change.search.trim();
    await this.#poller.runNow();
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    try {
      const log = await this.#client.serverLog(this.#planId, this.#component, {
        node: this.node,
        tail: SERVER_LOG_TAIL,
        search: this.search || undefined,
      });
      if (request !== this.#request) return;
      this.entries = log.entries;
      this.nodes = log.nodes;
      this.node = log.node;
      this.error = undefined;
    } catch (error) {
      if (request !== this.#request) return;
      if (error instanceof SignedOut) this.stop();
      this.error = reasonOf(error, 'Loading the log');
    } finally {
      if (request === this.#request) this.loaded = true;
    }
  }
}
