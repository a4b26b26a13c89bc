import { DEFAULT_ALERT_SETTINGS } from '@cloudseed/shared/alerts/alerts';
import { ApiError, SignedOut } from '../api/client.ts';
import type { ApiClient } from '../api/client.ts';
import type { Alert, AlertRule, AlertSettings } from '../api/types.ts';
import { describeError } from '../deployment/format.ts';
import { Poller, type VisibilityTarget } from '../poller.ts';

// A plan's alerts in the web app: the incidents firing (the deployment view's banner) and those
// that cleared, every 15 s while the view is open; and the owner's settings, saved whole, with a
// 400's problems shown beside the fields they name.

export const ALERTS_POLL_MS = 15_000;

export const RULE_WORDS: Record<AlertRule, string> = {
  disk: 'Disk full',
  connections: 'Connections near the maximum',
  replication_lag: 'Replica behind its primary',
  backup_failed: 'Backup failed',
  node_down: 'Node down',
};

export type AlertsClient = Pick<ApiClient, 'alerts' | 'putAlertSettings'>;

export class AlertsView {
  firing = $state.raw<readonly Alert[]>([]);
  cleared = $state.raw<readonly Alert[]>([]);
  /** The settings as stored. */
  settings = $state.raw<AlertSettings>(DEFAULT_ALERT_SETTINGS);
  loaded = $state(false);
  error = $state<string | undefined>();
  saving = $state(false);
  /** The last save's outcome: a field's problem by its path (e.g. /rules/disk/thresholdPercent), or done. */
  problems = $state.raw<Readonly<Record<string, string>>>({});
  saveError = $state<string | undefined>();
  savedAt = $state<number | undefined>();

  readonly #client: AlertsClient;
  readonly #planId: string;
  readonly #poller: Poller;

  constructor(client: AlertsClient, planId: string, document?: VisibilityTarget) {
    this.#client = client;
    this.#planId = planId;
    this.#poller = new Poller(
      () => this.refresh(),
      () => ALERTS_POLL_MS,
      document,
    );
  }

  start(): () => void {
    this.#poller.start();
    return () => this.stop();
  }

  stop(): void {
    this.#poller.stop();
  }

  async refresh(): Promise<void> {
    try {
      const answer = await this.#client.alerts(this.#planId);
      this.firing = answer.firing;
      this.cleared = answer.cleared;
      if (!this.loaded) this.settings = answer.settings;
      this.error = undefined;
    } catch (error) {
      if (error instanceof SignedOut) this.stop();
      this.error = describeError(error, 'Loading the alerts');
    } finally {
      this.loaded = true;
    }
  }

  /** Saves the settings; true when stored. */
  async save(settings: AlertSettings): Promise<boolean> {
    this.saving = true;
    this.saveError = undefined;
    this.problems = {};
    try {
      this.settings = await this.#client.putAlertSettings(this.#planId, settings);
      this.savedAt = Date.now();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.errors.length > 0) {
        this.problems = Object.fromEntries(error.errors.map((problem) => [problem.path, problem.message]));
        this.saveError = 'Some settings are not valid; nothing was saved.';
      } else {
        this.saveError = describeError(error, 'Saving the alert settings');
      }
      return false;
    } finally {
      this.saving = false;
    }
  }
}
