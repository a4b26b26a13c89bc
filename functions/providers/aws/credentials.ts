import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AccountConnection } from '../provider.ts';
import { AccountAccessError, TransientError } from '../errors.ts';
import { awsErrorCode, call } from './errors.ts';

// Reaching the customer's account: AssumeRole with the ExternalId the customer's trust policy
// names, for 15 minutes, then EC2 and SSM clients in the plan's region (and S3 in the backup
// bucket's, which is the region the customer launched the CloudSeed template in) that ask for
// fresh credentials when these run out. The provider lives as long as the
// Lambda container, so one set of clients per (account, deployment) is reused across the steps
// that container runs.

export const SESSION_SECONDS = 900;
/** Credentials this close to expiring are replaced (the SDK itself refreshes 5 minutes early too). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
const MAX_SESSIONS = 64;

export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** Resolves the current credentials, assuming the role again when they are about to expire. */
export type CredentialsProvider = () => Promise<AssumedCredentials>;

export interface AccountClients {
  readonly ec2: EC2Client;
  /** Elastic Load Balancing: a Patroni cluster's internal Network Load Balancer. */
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ssm: SSMClient;
  /** IAM: the plan's node role and instance profile. */
  readonly iam: IAMClient;
  /** S3 in a bucket's region: reads the objects the backup scripts store in the account's backup bucket, and deletes backups. */
  s3(region: string): S3Client;
  /** CloudWatch: the metrics the nodes publish. */
  readonly cloudwatch: CloudWatchClient;
}

/** Builds the clients for one account; they must take their credentials from `credentials`. */
export type ClientsFactory = (account: AccountConnection, credentials: CredentialsProvider) => AccountClients;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** `cloudseed-<deploymentId>` with what STS does not accept replaced, at most 64 characters. */
export function roleSessionName(deploymentId: string): string {
  return `cloudseed-${deploymentId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

interface Session {
  readonly clients: AccountClients;
  credentials?: { readonly value: Promise<AssumedCredentials>; expiresAt: number };
}

export class AccountSessions {
  readonly #sts: STSClient;
  readonly #factory: ClientsFactory;
  readonly #clock: Clock;
  readonly #sessions = new Map<string, Session>();

  constructor(sts: STSClient, factory: ClientsFactory, clock: Clock) {
    this.#sts = sts;
    this.#factory = factory;
    this.#clock = clock;
  }

  clients(account: AccountConnection, deploymentId: string): AccountClients {
    return this.#session(account, deploymentId).clients;
  }

  /** Assumes the role now unless the cached credentials are good for a while yet. */
  async credentials(account: AccountConnection, deploymentId: string): Promise<AssumedCredentials> {
    return this.#credentials(this.#session(account, deploymentId), account, roleSessionName(deploymentId));
  }

  #session(account: AccountConnection, deploymentId: string): Session {
    const sessionName = roleSessionName(deploymentId);
    const key = JSON.stringify([account.roleArn, account.externalId, account.region, sessionName]);
    const existing = this.#sessions.get(key);
    if (existing) {
      // Most recently used last, so the oldest is the one evicted.
      this.#sessions.delete(key);
      this.#sessions.set(key, existing);
      return existing;
    }
    const session: Session = {
      clients: this.#factory(account, () => this.#credentials(session, account, sessionName)),
    };
    this.#sessions.set(key, session);
    for (const oldest of this.#sessions.keys()) {
      if (this.#sessions.size <= MAX_SESSIONS) break;
      this.#sessions.delete(oldest);
    }
    return session;
  }

  #credentials(session: Session, account: AccountConnection, sessionName: string): Promise<AssumedCredentials> {
    const cached = session.credentials;
    if (cached && this.#clock.now() < cached.expiresAt - REFRESH_MARGIN_MS) return cached.value;
    const entry = { value: this.#assume(account, sessionName), expiresAt: Number.POSITIVE_INFINITY };
    session.credentials = entry;
    entry.value.then(
      (credentials) => {
        entry.expiresAt = credentials.expiration.getTime();
      },
      () => {
        if (session.credentials === entry) delete session.credentials;
      },
    );
    return entry.value;
  }

  async #assume(account: AccountConnection, sessionName: string): Promise<AssumedCredentials> {
    let output;
    try {
      output = await call('sts:AssumeRole', () =>
        this.#sts.send(
          new AssumeRoleCommand({
            RoleArn: account.roleArn,
            ExternalId: account.externalId,
            RoleSessionName: sessionName,
            DurationSeconds: SESSION_SECONDS,
          }),
        ),
      );
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'AccessDenied' || code === 'AccessDeniedException') {
        throw new AccountAccessError(`CloudSeed cannot assume ${account.roleArn}; check the trust policy and ExternalId`, { code, cause: error });
      }
      throw error;
    }
    const credentials = output.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !credentials.Expiration) {
      throw new TransientError(`sts:AssumeRole on ${account.roleArn} returned no credentials`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  }
}
