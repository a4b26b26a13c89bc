import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { FederationIdentity } from '@cloudseed/shared';
import { AccountAccessError } from './errors.ts';

// Who the platform is to Google Cloud and Azure: one named role (the platform stack's
// `<stack>-CloudFederation`), which the functions that reach those clouds assume. A customer's
// Workload Identity pool admits exactly that role's sessions, and CloudSeed's Entra app trusts the
// tokens STS issues it (GetWebIdentityToken, outbound identity federation); each function's own
// generated role would be a different name per function and per deployment of the platform.

export const FEDERATION_SESSION_NAME = 'cloudseed-federation';
const SESSION_SECONDS = 3600;
/** Credentials this close to expiring are replaced. */
const REFRESH_MARGIN_MS = 5 * 60_000;

const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::(\d{12}):role\/([\w+=,.@-]{1,64})$/;
const APP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface FederationCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** The federation role's sessions: assumed on first use, reused until five minutes before they expire. */
export class FederationRole {
  readonly roleArn: string;
  readonly #sts: STSClient;
  readonly #now: () => number;
  #cached: { readonly value: Promise<FederationCredentials>; expiresAt: number } | undefined;

  constructor(roleArn: string, sts: STSClient, now: () => number = Date.now) {
    if (!ROLE_ARN.test(roleArn)) throw new RangeError(`${JSON.stringify(roleArn)} is not an IAM role ARN`);
    this.roleArn = roleArn;
    this.#sts = sts;
    this.#now = now;
  }

  credentials(): Promise<FederationCredentials> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.expiresAt - REFRESH_MARGIN_MS) return cached.value;
    const entry = { value: this.#assume(), expiresAt: Number.POSITIVE_INFINITY };
    this.#cached = entry;
    entry.value.then(
      (credentials) => {
        entry.expiresAt = credentials.expiration.getTime();
      },
      () => {
        if (this.#cached === entry) this.#cached = undefined;
      },
    );
    return entry.value;
  }

  /** An STS client that signs as the federation role: GetWebIdentityToken issues that role's token. */
  stsClient(): STSClient {
    return new STSClient({ retryMode: 'standard', maxAttempts: 3, credentials: () => this.credentials() });
  }

  async #assume(): Promise<FederationCredentials> {
    const output = await this.#sts.send(
      new AssumeRoleCommand({ RoleArn: this.roleArn, RoleSessionName: FEDERATION_SESSION_NAME, DurationSeconds: SESSION_SECONDS }),
    );
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = output.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration)
      throw new AccountAccessError(`sts:AssumeRole on ${this.roleArn} returned no credentials`);
    return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken, expiration: Expiration };
  }
}

/** The federation role the platform's environment names (CLOUD_FEDERATION_ROLE_ARN), or undefined where there is none (the local cloud). */
export function federationRoleFrom(env: NodeJS.ProcessEnv, sts?: STSClient): FederationRole | undefined {
  const arn = env.CLOUD_FEDERATION_ROLE_ARN;
  if (!arn) return undefined;
  return new FederationRole(arn, sts ?? new STSClient({ retryMode: 'standard', maxAttempts: 3 }));
}

/** CloudSeed's Entra app (AZURE_APP_ID), or undefined where the platform has none. */
export function azureAppIdFrom(env: NodeJS.ProcessEnv): string | undefined {
  const appId = env.AZURE_APP_ID;
  if (!appId) return undefined;
  if (!APP_ID.test(appId)) throw new Error(`environment variable AZURE_APP_ID must be an application (client) id, not ${JSON.stringify(appId)}`);
  return appId;
}

/** What a customer's gcloud and az commands must name: the federation role's account and name, and the Entra app. */
export function federationIdentityFrom(env: NodeJS.ProcessEnv): FederationIdentity | undefined {
  const match = ROLE_ARN.exec(env.CLOUD_FEDERATION_ROLE_ARN ?? '');
  if (!match) return undefined;
  const azureAppId = azureAppIdFrom(env);
  return { awsAccountId: match[2]!, roleName: match[3]!, ...(azureAppId ? { azureAppId } : {}) };
}
