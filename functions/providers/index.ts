import type { Target } from '@cloudseed/shared';
import { requireEnv } from '../lib/env.ts';
import { AwsProvider } from './aws/index.ts';
import { LocalProvider } from './local/index.ts';
import type { Provider } from './provider.ts';

// One provider per kind of target, built on first use and kept for the container's life.

let aws: Provider | undefined;
let local: Provider | undefined;

export function providerFor(target: Target): Provider {
  if (target.cloud === 'local') return (local ??= new LocalProvider({ home: requireEnv('CLOUDSEED_HOME') }));
  return (aws ??= new AwsProvider({ instanceProfileName: requireEnv('NODE_INSTANCE_PROFILE') }));
}
