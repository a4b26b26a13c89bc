import { Conflict } from '@cloudseed/shared/errors';
import type { AccountVerifier, VerifyOutcome } from '@cloudseed/shared';

export const LOCAL_CANNOT_CONNECT =
  'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.';

/** The local cloud reaches no AWS account (nothing here reaches the internet), so it connects none. */
export class LocalAccountVerifier implements AccountVerifier {
  verify(): Promise<VerifyOutcome> {
    return Promise.reject(new Conflict(LOCAL_CANNOT_CONNECT));
  }
}
