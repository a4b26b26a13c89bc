import { ApiError, SignedOut } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import type { LogLine, LogSource } from '../api/types.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';
import { describeError } from './format.ts';

// The live tail of an app's log: its newest lines every 2 s while the deployment view is open and
// the tab is in view, narrowed to one source (build, release, run) when the user asks.

export const LOG_POLL_MS = 2_000;
export const LOG_TAIL = 200;

export type LogFilter = 'all' | LogSource;
export const LOG_FILTERS: readonly LogFilter[] = ['all', 'build', 'release', 'run'];

/** The part of the API the log tail uses. */
export type LogsClient = Pick<ApiClient, 'componentLogs'>;

export class AppLogs {
  lines = $state.raw<readonly LogLine[]>([]);
  /** The first answer arrived. */
  loaded = $state(false);
  /** The last fetch failed; the lines shown are from before. */
  error = $state<string | undefined>();
  filter = $state<LogFilter>('all');

  readonly shown: readonly LogLine[] = $derived(this.filter === 'all' ? this.lines : this.lines.filter((line) => line.source === this.filter));

  readonly #client: LogsClient;
  readonly #planId: string;
  readonly #componentId: string;
  readonly #poller: Poller;

  constructor(client: LogsClient, planId: string, componentId: string, document?: VisibilityTarget) {
    this.#client = client;
    this.#planId = planId;
    this.#componentId = componentId;
    this.#poller = new Poller(
      () => this.refresh(),
      () => LOG_POLL_MS,
      document,
    );
  }

  /** Loads now and keeps the tail fresh until the returned function (or `stop`) is called. */
  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  async refresh(): Promise<void> {
    try {
      const { lines } = await this.#client.componentLogs(this.#planId, this.#componentId, LOG_TAIL);
      this.lines = lines;
      this.error = undefined;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // Nothing written yet: the app has not been built.
        this.lines = [];
        this.error = undefined;
      } else if (error instanceof SignedOut) {
        this.stop();
        this.error = error.message;
      } else {
        this.error = describeError(error, 'Loading the log');
      }
    } finally {
      this.loaded = true;
    }
  }
}
