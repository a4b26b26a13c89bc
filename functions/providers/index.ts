import type { Target } from '@cloudseed/shared';
import { requireEnv } from '../lib/env.ts';
import type { Provider } from './provider.ts';

// One provider per kind of target, loaded on first use and kept for the container's life. Each
// loads only its own dependencies: a local plan never pulls in the EC2 and SSM clients.

let aws: Promise<Provider> | undefined;
let local: Promise<Provider> | undefined;

export function providerFor(target: Target): Promise<Provider> {
  if (target.cloud === 'local') {
    return (local ??= import('./local/index.ts').then(({ LocalProvider }) => new LocalProvider({ home: requireEnv('CLOUDSEED_HOME') })));
  }
  return (aws ??= import('./aws/index.ts').then(({ AwsProvider }) => new AwsProvider()));
}
