import { createHash, timingSafeEqual } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ORIGIN_SECRET_ENV, ORIGIN_VERIFY_HEADER } from './headers.ts';
import type { ApiMiddleware } from './http.ts';
import { HttpProblem } from './problems.ts';

// On AWS the API is meant to be reached through CloudFront only: its web ACL (the rate rule) and
// its security headers sit there. CloudFront adds ORIGIN_VERIFY_HEADER with a secret that
// CloudFormation generated; every route refuses a request that does not carry it.
//
// The secret's ARN is in ORIGIN_VERIFY_SECRET_ARN and its value is read once, at cold start, through
// the Secrets Manager API: the value never sits in the function's configuration, where anyone who
// may read the function (lambda:GetFunctionConfiguration) would see it. The local cloud is not
// behind CloudFront and sets no ARN: there the check is off. On AWS (CLOUDSEED_MODE=aws) a function
// without the ARN refuses to start, rather than serving anyone who found the execute-api URL.

async function loadExpectedDigest(): Promise<Buffer | undefined> {
  const secretArn = process.env[ORIGIN_SECRET_ENV];
  if (secretArn === undefined || secretArn === '') {
    if (process.env.CLOUDSEED_MODE === 'aws') throw new Error(`environment variable ${ORIGIN_SECRET_ENV} is required on AWS`);
    return undefined;
  }
  const { SecretString: secret } = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (secret === undefined || secret === '') throw new Error(`the origin secret ${secretArn} has no string value`);
  return digest(secret);
}

// Comparing fixed-length digests: timingSafeEqual needs equal lengths, and comparing the raw
// values would tell an attacker the secret's length by how quickly a shorter guess is refused.
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

const expected = await loadExpectedDigest();

/** Whether `given` is the origin secret, in time that depends neither on where nor on how much they differ. */
export function isOriginSecret(given: string | undefined, expectedDigest: Buffer): boolean {
  // The secret is never empty (checked at load), so a missing header compares as '' and fails the same way.
  return timingSafeEqual(digest(given ?? ''), expectedDigest);
}

/**
 * Answers 403 to a request that did not come through CloudFront, before anything else looks at it
 * (the token, the body). The header is then removed, so no handler or log line can repeat it.
 */
export function originVerify(): ApiMiddleware {
  return {
    before: ({ event }) => {
      if (expected === undefined) return;
      const given = event.headers[ORIGIN_VERIFY_HEADER];
      if (!isOriginSecret(given, expected))
        throw new HttpProblem(403, 'Forbidden', 'This API answers only requests made through the CloudSeed site.');
      delete event.headers[ORIGIN_VERIFY_HEADER];
    },
  };
}
