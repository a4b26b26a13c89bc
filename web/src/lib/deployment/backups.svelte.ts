import { SignedOut } from '../api/client.ts';
import type { Backup, BackupRequest } from '../api/types.ts';
import type { DeploymentClient } from './deployment.svelte.ts';
import { describeError } from './format.ts';

// A plan's backups, newest first. The list is loaded when the view opens and whenever the
// deployment reports a different last backup; while a backup runs (or a validation this view
// asked for is pending) it is polled every 2 s until it settles.

export const BACKUP_POLL_MS = 2_000;

export class BackupsState {
  items = $state.raw<readonly Backup[]>([]);
  loaded = $state(false);
  /** The last request failed, in words. */
  error = $state<string | undefined>();
  /** "Run backup now" or "Logical export" was pressed and its POST has not answered yet. */
  starting = $state<'backup' | 'export' | undefined>();
  /** Backups whose validation this view asked for and that have not settled yet. */
  validating = $state.raw<readonly string[]>([]);

  readonly running: boolean = $derived(this.items.some((backup) => backup.status === 'running'));
  readonly #settling: boolean = $derived(
    this.running || this.items.some((backup) => this.validating.includes(backup.backupId) && backup.validation.status === 'pending'),
  );

  readonly #client: DeploymentClient;
  readonly #planId: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #inFlight: Promise<void> | undefined;

  constructor(client: DeploymentClient, planId: string) {
    this.#client = client;
    this.#planId = planId;
  }

  /**
   * Loads the list now; while something settles, again every 2 s. `fresh` waits out a request
   * already out, which may have left before the change the caller just made.
   */
  async load(options: { readonly fresh?: boolean } = {}): Promise<void> {
    if (options.fresh && this.#inFlight) await this.#inFlight;
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
    return this.#inFlight;
  }

  /** POST run-now, then follow the new backup until it finishes. `{ kind: 'logical' }` is a pg_dump export, the kind that downloads. */
  async runNow(request: BackupRequest = { type: 'full' }): Promise<void> {
    if (this.starting) return;
    const logical = 'kind' in request;
    this.starting = logical ? 'export' : 'backup';
    this.error = undefined;
    try {
      await this.#client.runBackup(this.#planId, request);
    } catch (error) {
      this.error = describeError(error, logical ? 'Starting the export' : 'Starting the backup');
      return;
    } finally {
      this.starting = undefined;
    }
    await this.load({ fresh: true });
  }

  /** Starts restoring a backup into the running deployment; the deployment's steps show its progress. */
  async restore(backupId: string): Promise<void> {
    await this.#client.restoreBackup(this.#planId, backupId);
  }

  /** Asks for the backup to be proven again by a restore into a scratch database. */
  async validate(backupId: string): Promise<void> {
    this.error = undefined;
    try {
      await this.#client.validateBackup(this.#planId, backupId);
    } catch (error) {
      this.error = describeError(error, 'Validating the backup');
      return;
    }
    this.validating = [...this.validating, backupId];
    await this.load({ fresh: true });
  }

  /** A short-lived link to the backup's archive; undefined (with `error` set) when there is none. */
  async downloadUrl(backupId: string): Promise<string | undefined> {
    this.error = undefined;
    try {
      return (await this.#client.backupDownload(this.#planId, backupId)).url;
    } catch (error) {
      this.error = describeError(error, 'Preparing the download');
      return undefined;
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped || !this.#settling) return;
    this.#timer = setTimeout(() => void this.load(), BACKUP_POLL_MS);
  }

  async #load(): Promise<void> {
    try {
      const items = await this.#client.backups(this.#planId);
      this.items = items;
      this.loaded = true;
      const pending = items.filter((backup) => backup.validation.status === 'pending').map((backup) => backup.backupId);
      if (this.validating.some((id) => !pending.includes(id))) this.validating = this.validating.filter((id) => pending.includes(id));
    } catch (error) {
      if (error instanceof SignedOut) this.stop();
      this.error = describeError(error, 'Loading the backups');
    }
  }
}
