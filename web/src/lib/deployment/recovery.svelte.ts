import { ApiError } from '../api/client.ts';
import type { RecoveryWindow } from '../api/types.ts';
import type { DeploymentClient } from './deployment.svelte.ts';
import { describeError } from './format.ts';
import { openWindow, type OpenWindow } from './point-in-time.ts';

// The times a running plan can be restored to. The window moves on its own (WAL is archived every
// minute at least, old backups expire), so the view loads it again whenever the deployment refreshes.

export class RecoveryState {
  window = $state.raw<RecoveryWindow | undefined>();
  loaded = $state(false);
  /** The last request failed, in words. */
  error = $state<string | undefined>();

  /** Both ends, once the first backup is in the repository. */
  readonly open: OpenWindow | undefined = $derived(openWindow(this.window));

  readonly #client: DeploymentClient;
  readonly #planId: string;
  #inFlight: Promise<void> | undefined;

  constructor(client: DeploymentClient, planId: string) {
    this.#client = client;
    this.#planId = planId;
  }

  /** Loads the window; a call while a request is out shares it. */
  load(): Promise<void> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Starts the in-place restore to `targetTime` (ISO UTC); rejects with the API's problem when refused. */
  async restore(targetTime: string): Promise<void> {
    await this.#client.restoreToPoint(this.#planId, targetTime);
  }

  async #load(): Promise<void> {
    try {
      this.window = await this.#client.recoveryWindow(this.#planId);
      this.error = undefined;
    } catch (error) {
      // 409: the plan stopped running between the deployment's answer and this one; nothing to restore to.
      if (error instanceof ApiError && error.status === 409) {
        this.window = undefined;
        this.error = undefined;
      } else {
        this.error = describeError(error, 'Loading the recovery window');
      }
    } finally {
      this.loaded = true;
    }
  }
}
