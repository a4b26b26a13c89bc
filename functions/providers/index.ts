import type { Target } from '@cloudseed/shared';
import { requireEnv } from '../lib/env.ts';
import type { AppProvider } from './app-provider.ts';
import type { Provider } from './provider.ts';

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
};

const loaded = new Map<Target['cloud'], Promise<Provider>>();

export function providerFor(target: Target): Promise<Provider> {
  let provider = loaded.get(target.cloud);
  if (!provider) {
    provider = loaders[target.cloud]();
    loaded.set(target.cloud, provider);
  }
  return provider;
}

// Apps have their own port (app-provider.ts): a cloud that runs databases may run apps differently.
const appLoaders: Record<Target['cloud'], () => Promise<AppProvider>> = {
  aws: () => import('./aws/apps/index.ts').then(({ AwsAppProvider }) => new AwsAppProvider()),
  local: () => import('./local/apps/local-apps.ts').then(({ localApps }) => localApps(requireEnv('CLOUDSEED_HOME'))),
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
