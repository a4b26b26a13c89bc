import { Conflict } from '@cloudseed/shared/errors';
import type { AccountVerifier, CloudVerifyOutcome, VerifyOutcome } from '@cloudseed/shared';

export const LOCAL_CANNOT_CONNECT =
  'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.';

/** The local cloud reaches no AWS account (nothing here reaches the internet), so it connects none. */
export class LocalAccountVerifier implements AccountVerifier {
  verify(): Promise<VerifyOutcome> {
    return Promise.reject(new Conflict(LOCAL_CANNOT_CONNECT));
  }
}

/**
 * Google Cloud and Azure trust the platform's federation role on AWS: the local cloud has none, and
 * a platform deployed without one (or, for Azure, without CloudSeed's Entra app) cannot sign in
 * there either. Either way nothing is connected, and the customer is told why.
 */
export class LocalCloudVerifier {
  readonly #message: string;

  constructor(cloud: 'Google Cloud' | 'Azure', local: boolean) {
    this.#message = local
      ? `The local cloud cannot reach ${cloud}; connect ${cloud} in CloudSeed on AWS. Plans here deploy to the built-in local account.`
      : `This CloudSeed platform has no ${cloud === 'Azure' ? 'federation role or Entra app' : 'federation role'} to sign in to ${cloud} with; its operator sets one up (README: Google Cloud and Azure connections).`;
  }

  verify(): Promise<CloudVerifyOutcome> {
    return Promise.reject(new Conflict(this.#message));
  }
}
