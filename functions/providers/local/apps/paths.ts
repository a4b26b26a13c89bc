import { join } from 'node:path';
import { safeName } from '../paths.ts';

// Where the local cloud keeps apps under CLOUDSEED_HOME:
//
//   apps/bin/                          node and npm for app code (root's, 0755)
//   apps/gitconfig                     what git may do when it clones for an app (root's, 0644)
//   apps/cache/                        npm's download cache (cloudseed-app's, 0700)
//   apps/<planId>/<component>/         root's, 0711
//     app.json                         its stable port (root's, 0600)
//     run.env.json                     the serving version's environment, DATABASE_URL included (root's, 0600)
//     ca.crt                           the plan's CA, which the app verifies its database with (0644)
//     builds/<buildId>/                one version: src/ (the clone), home/ (cloudseed-app's, 0700)
//     builds/<buildId>.json            the build's outcome (root's)
//     logs/build.log, release.log, run.log   (root's, 0600)

export const appsRoot = (home: string): string => join(home, 'apps');

/** The values of an app's secrets: root's, 0600, beside the databases' passwords. */
export const appSecretsFile = (home: string, planId: string, componentId: string): string =>
  join(home, 'secrets', safeName('plan id', planId), `${safeName('component id', componentId)}.app-secrets.json`);

export interface AppPaths {
  readonly root: string;
  readonly record: string;
  readonly runEnv: string;
  readonly caFile: string;
  readonly builds: string;
  readonly logs: string;
}

export function appPaths(home: string, planId: string, componentId: string): AppPaths {
  const root = join(appsRoot(home), safeName('plan id', planId), safeName('component id', componentId));
  return {
    root,
    record: join(root, 'app.json'),
    runEnv: join(root, 'run.env.json'),
    caFile: join(root, 'ca.crt'),
    builds: join(root, 'builds'),
    logs: join(root, 'logs'),
  };
}

export const buildDir = (paths: AppPaths, buildId: string): string => join(paths.builds, safeName('build id', buildId));
export const buildOutcome = (paths: AppPaths, buildId: string): string => `${buildDir(paths, buildId)}.json`;
