import type { CloudConnection, AppComponent, AppRelease, Target } from '@cloudseed/shared';
import type { Progress } from './provider.ts';

// The port the app steps talk to: build a version of an app from its repository, roll it out
// behind the app's stable address once it is healthy, and tear it down. LocalProvider's apps are
// supervised processes behind a small reverse proxy on this machine; AwsProvider's are CodeBuild
// images in ECR run by an ECS Fargate service behind an ALB. Every method is idempotent for the
// same deployment, like the database port (provider.ts); what they throw is in errors.ts.

/** What one app's steps work on: the app as the deployed plan says it. */
export interface AppTarget {
  readonly ownerId: string;
  readonly planId: string;
  readonly planName: string;
  /** Stable for one deployment; builds and rollouts of it are keyed by it. */
  readonly deploymentId: string;
  readonly target: Target;
  readonly component: AppComponent;
  readonly account?: CloudConnection;
}

/**
 * The database an app is linked to, as the app reaches it: turned into DATABASE_URL and the PG*
 * variables, with the plan's CA so that every driver can verify the server (sslmode=verify-full).
 */
export interface DatabaseLink {
  readonly componentId: string;
  /** Every node's address, the primary first (a cluster's load balancer instead, where the cloud has one). */
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  readonly database: string;
  readonly username: string;
  readonly password: string;
  readonly caCertificatePem: string;
}

/** One built version of an app: what a rollout runs (the deployment record keeps it). */
export type { AppRelease };

export interface BuildRef {
  readonly buildId: string;
}

export type BuildProgress =
  | { readonly state: 'done'; readonly release: AppRelease }
  | { readonly state: 'pending'; readonly detail: string }
  | { readonly state: 'failed'; readonly reason: string };

export interface RolloutRef {
  readonly rolloutId: string;
}

/** Where an app serves, and what. */
export interface AppEndpoint {
  /** The app's stable address: the local proxy's port, or the ALB's DNS name. */
  readonly url: string;
}

export type LogSource = 'build' | 'release' | 'run';

export interface LogLine {
  readonly time: string;
  readonly source: LogSource;
  readonly text: string;
}

export interface AppProvider {
  /** Refuses what cannot be built or run before anything starts (no git, a runtime not installed, no account). */
  preflightApp(target: AppTarget): Promise<void>;
  /** Resolves the branch (or the plan's commit) to a commit and starts building it; a build of the same deployment is joined, not repeated. */
  startBuild(target: AppTarget): Promise<BuildRef>;
  buildStatus(target: AppTarget, build: BuildRef): Promise<BuildProgress>;
  /**
   * Runs the release command once, then starts the release beside what serves, waits for its
   * health check and only then sends traffic to it; the old version drains and stops. A failed
   * release command or health check leaves the old version serving.
   */
  startRollout(target: AppTarget, release: AppRelease, database: DatabaseLink | undefined): Promise<RolloutRef>;
  rolloutStatus(target: AppTarget, rollout: RolloutRef): Promise<Progress>;
  /** The app's stable address (made on the first rollout, kept across rollouts and restarts). */
  endpoint(target: AppTarget): Promise<AppEndpoint>;
  /** The newest log lines of the app's builds, release commands and running version, oldest first. */
  logs(target: AppTarget, tail: number): Promise<LogLine[]>;
  /**
   * Stores values of the app's declared secrets where only its running versions read them (a 0600
   * file locally, SSM SecureString parameters on AWS); the next rollout passes them. Never read back.
   */
  putSecrets(target: AppTarget, values: Readonly<Record<string, string>>): Promise<void>;
  /** Stops every version, frees the address and removes the builds (and the secrets' values). */
  destroyApp(target: AppTarget): Promise<void>;
}

/** Progress of an app operation; the same shape as the database port's. */
export type { Progress };
