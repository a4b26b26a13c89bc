import { afterAll, beforeAll } from 'vitest';
import { clearFaults, injectFault } from '@cloudseed/functions/providers/local/index';
import type { FaultMode } from '@cloudseed/functions/providers/local/index';
import { Api } from './api.ts';
import { requireWebBuild, startLocalCloud, temporaryHome } from './local-cloud.ts';
import type { LocalCloud, LocalCloudConfig } from './local-cloud.ts';
import { processesWorkingIn } from './processes.ts';
import { signUp } from './users.ts';
import type { SignedUpUser } from './users.ts';

// One local cloud for the tests of one file (or of one describe block, when called inside it), on
// its own CLOUDSEED_HOME, with two users signed up: the tests' own and another customer.

interface UseLocalCloudOptions {
  /** More environment for the local cloud: the per-user limits, say. */
  readonly env?: Readonly<Record<string, string>>;
  /** The tests open its pages: fail at once, saying how to build it, when the web app is not built. */
  readonly webApp?: boolean;
}

/** A signed-up user and the API as they see it. */
export interface Session {
  readonly user: SignedUpUser;
  readonly api: Api;
}

interface LocalCloudHandle {
  /** The adapter's origin; it changes when the cloud starts again. */
  readonly url: string;
  readonly config: LocalCloudConfig;
  /** CLOUDSEED_HOME, the same across restarts. */
  readonly home: string;
  /** The tests' own user, signed up when the cloud first started. */
  readonly user: SignedUpUser;
  /** The API as `user`. */
  readonly api: Api;
  /** Another customer, for tenancy checks. */
  readonly other: Session;
  /** A new user, signed up now. */
  signUp(): Promise<Session>;
  /** Arms a fault at a workflow step (CLOUDSEED_HOME/faults.json). */
  injectFault(step: string, mode: FaultMode): void;
  clearFaults(): void;
  /** Stops the cloud (SIGTERM unless told) and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the cloud again on the same home, after `stop`. */
  start(): Promise<void>;
}

const START_MS = 60_000;
const STOP_MS = 30_000;
const LEFTOVERS_MS = 5_000;

/** Registers beforeAll/afterAll that start and stop one local cloud, and returns its handle. */
export function useLocalCloud(options: UseLocalCloudOptions = {}): LocalCloudHandle {
  let home: string | undefined;
  let cloud: LocalCloud | undefined;
  let users: readonly [SignedUpUser, SignedUpUser] | undefined;

  const started = (): LocalCloud => {
    if (cloud === undefined) throw new Error('the local cloud is not running: use the handle inside tests or hooks');
    return cloud;
  };
  const session = (user: SignedUpUser): Session => ({ user, api: new Api(started().url, user.accessToken) });
  const homeOf = (): string => home ?? started().home;
  const signedUp = () => {
    if (users === undefined) throw new Error('no users yet: use the handle inside tests or hooks');
    return users;
  };
  const start = async () => {
    home ??= await temporaryHome();
    cloud = await startLocalCloud({ home, ...(options.env === undefined ? {} : { env: options.env }) });
  };

  beforeAll(async () => {
    if (options.webApp === true) requireWebBuild();
    await start();
    const config = started().config;
    users = await Promise.all([signUp(config), signUp(config)]);
  }, START_MS);

  // Whatever the tests did, nothing outlives them: the cloud stops its servers on SIGTERM, and
  // whatever still runs in its home (a server of a cloud that was killed, say) is killed here.
  afterAll(async () => {
    await cloud?.stop();
    if (home === undefined) return;
    const deadline = Date.now() + LEFTOVERS_MS;
    for (let left = await processesWorkingIn(home); left.length > 0; left = await processesWorkingIn(home)) {
      if (Date.now() > deadline) throw new Error(`processes ${left.join(', ')} still run in ${home}`);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, STOP_MS);

  return {
    get url() {
      return started().url;
    },
    get config() {
      return started().config;
    },
    get home() {
      return homeOf();
    },
    get user() {
      return signedUp()[0];
    },
    get api() {
      return session(signedUp()[0]).api;
    },
    get other() {
      return session(signedUp()[1]);
    },
    signUp: async () => session(await signUp(started().config)),
    injectFault: (step, mode) => injectFault(homeOf(), step, mode),
    clearFaults: () => clearFaults(homeOf()),
    stop: (signal) => started().stop(signal),
    start,
  };
}
