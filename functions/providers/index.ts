import type { Target } from '@cloudseed/shared';
import { requireEnv } from '../lib/env.ts';
import type { AppProvider } from './app-provider.ts';
import { PermanentError } from './errors.ts';
import type { Provider } from './provider.ts';

// Google Cloud and Azure plans render, validate and are priced (shared/src/targets/gcp, azure), but
// no connection to either cloud can be made yet, so the deployment service refuses them before a
// workflow starts; a step that gets here anyway fails with the reason instead of guessing.
const notConnectable = (cloud: string) => () =>
  Promise.reject(new PermanentError(`deploying to ${cloud} needs a connected ${cloud} account, which CloudSeed cannot make yet`));

// One provider per cloud a plan can target, loaded on first use and kept for the container's life.
// Each loads only its own dependencies: a local plan never pulls in the EC2 and SSM clients. A new
// cloud is one more row.

const loaders: Record<Target['cloud'], () => Promise<Provider>> = {
  aws: () => import('./aws/index.ts').then(({ AwsProvider }) => new AwsProvider()),
  local: () =>
    import('./local/index.ts').then(
      ({ LocalProvider, archiveRepositoryFrom }) =>
        new LocalProvider({ home: requireEnv('CLOUDSEED_HOME'), archive: archiveRepositoryFrom(process.env) }),
    ),
  gcp: notConnectable('Google Cloud'),
  azure: notConnectable('Azure'),
};

const loaded = new Map<Target['cloud'], Promise<Provider>>();

export function providerFor(target: Target): Promise<Provider> {
  let provider = loaded.get(target.cloud);
  if (!provider) {
    provider = loaders[target.cloud]();
    loaded.set(target.cloud, provider);
    provider.catch(() => loaded.delete(target.cloud));
  }
  return provider;
}

// Apps have their own port (app-provider.ts): a cloud that runs databases may run apps differently.
const appLoaders: Record<Target['cloud'], () => Promise<AppProvider>> = {
  aws: () => import('./aws/apps/index.ts').then(({ AwsAppProvider }) => new AwsAppProvider()),
  local: () => import('./local/apps/local-apps.ts').then(({ localApps }) => localApps(requireEnv('CLOUDSEED_HOME'))),
  gcp: notConnectable('Google Cloud'),
  azure: notConnectable('Azure'),
};

const loadedApps = new Map<Target['cloud'], Promise<AppProvider>>();

export function appProviderFor(target: Target): Promise<AppProvider> {
  let provider = loadedApps.get(target.cloud);
  if (!provider) {
    provider = appLoaders[target.cloud]();
    loadedApps.set(target.cloud, provider);
    provider.catch(() => loadedApps.delete(target.cloud));
  }
  return provider;
}
