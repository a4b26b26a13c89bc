import type { AzureAccountConnection, GcpAccountConnection, Target } from '@cloudseed/shared';
import { requireEnv } from '../lib/env.ts';
import type { AppProvider } from './app-provider.ts';
import { AccountAccessError, PermanentError } from './errors.ts';
import { azureAppIdFrom, federationRoleFrom } from './federation.ts';
import type { DeployTarget, Provider } from './provider.ts';

// Apps run on AWS and locally; on Google Cloud and Azure only databases do so far, and the
// deployment service refuses a plan with apps there before a workflow starts. A step that gets here
// anyway fails with the reason instead of guessing.
const noApps = (cloud: string) => (): Promise<never> => Promise.reject(new PermanentError(`apps on ${cloud} are not available yet`));

function connectionOf<Cloud extends 'gcp' | 'azure'>(target: DeployTarget, cloud: Cloud) {
  const account = target.account;
  if (!account || !('cloud' in account) || account.cloud !== cloud)
    throw new AccountAccessError(
      `plan ${target.planId} names no connected ${cloud === 'gcp' ? 'Google Cloud project' : 'Azure resource group'}; connect it (POST /v1/accounts) and deploy again`,
    );
  return account as Cloud extends 'gcp' ? GcpAccountConnection : AzureAccountConnection;
}

/** Google Cloud trusts the platform's federation role: its sessions sign the token exchange. */
async function gcpProvider(): Promise<Provider> {
  const [{ GcpProvider }, { gcpAuthFor }] = await Promise.all([import('./gcp/index.ts'), import('./gcp/connection.ts')]);
  const federation = federationRoleFrom(process.env);
  return new GcpProvider({ authFor: (target) => gcpAuthFor(connectionOf(target, 'gcp'), federation) });
}

/** Azure trusts CloudSeed's Entra app, which trusts the tokens STS issues the federation role. */
async function azureProvider(): Promise<Provider> {
  const [{ AzureProvider }, { azureCredentialFor }] = await Promise.all([import('./azure/index.ts'), import('./azure/connection.ts')]);
  const federation = federationRoleFrom(process.env);
  const appId = azureAppIdFrom(process.env);
  if (!federation || !appId)
    throw new AccountAccessError(
      'this CloudSeed platform has no federation role or Entra app to sign in to Azure with (CLOUD_FEDERATION_ROLE_ARN, AZURE_APP_ID)',
    );
  const sts = federation.stsClient();
  return new AzureProvider({ credentialFor: (target) => azureCredentialFor(connectionOf(target, 'azure'), appId, sts) });
}

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
  gcp: gcpProvider,
  azure: azureProvider,
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
  gcp: noApps('Google Cloud'),
  azure: noApps('Azure'),
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
