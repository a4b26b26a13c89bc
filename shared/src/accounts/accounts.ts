import * as z from 'zod';
import { toProblems } from '../cs-json/problems.ts';
import { awsRegion, DEFAULT_AWS_REGION, planName } from '../cs-json/schema.ts';
import type { Target } from '../cs-json/schema.ts';
import type { DeploymentRepository } from '../deployments/deployments.ts';
import { Conflict, NotFound, ValidationFailed } from '../errors.ts';
import { MAX_PAGE_SIZE } from '../plans/plans.ts';
import type { PlanService } from '../plans/plans.ts';
import { awsAccountIdOf, backupBucketName, DEPLOYER_ROLE_NAME, launchStackUrl } from '../targets/aws/account.ts';

// The AWS accounts a customer connects: a role in their account (created by the CloudSeed
// template) that trusts the platform account under the customer's ExternalId, and the bucket the
// same template creates for the backups of the plans deployed there. The ExternalId is issued once
// per customer and never changes, so the template they launched keeps working. A connection is
// stored only after CloudSeed has assumed the role with it and found the backup bucket in the
// region given. Storage and the checks are ports; DynamoDB, STS and S3 (or tests) plug in their own.

export const MAX_ACCOUNTS = 20;
export const LOCAL_ACCOUNT_ID = 'local';
export const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const DENIED_MESSAGE = 'CloudSeed cannot assume this role: check the trust policy names the platform account and your ExternalId';

// No path: the platform's own IAM policy allows sts:AssumeRole on `role/CloudSeedDeployer*` only.
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::(\d{12}):role\/([\w+=,.@/-]{1,512})$/;
const DEPLOYER_ROLE = new RegExp(`^${DEPLOYER_ROLE_NAME}[\\w+=,.@-]*$`);

/** The customer's AWS account as the provider reaches it: the role, the customer's ExternalId, and the region to work in. */
export interface AccountConnection {
  readonly roleArn: string;
  readonly externalId: string;
  readonly region: string;
}

export interface AccountRecord {
  readonly ownerId: string;
  readonly id: string;
  readonly name: string;
  readonly roleArn: string;
  /** The 12 digits of the role's account. */
  readonly awsAccountId: string;
  /** The account's home region: what new plans on it default to. Each plan names its own region. */
  readonly region: string;
  readonly createdAt: string;
  /** When CloudSeed last assumed the role with the customer's ExternalId. */
  readonly verifiedAt: string;
}

/** What the API shows of an account; the built-in local one has only id, name and kind. */
export interface AccountResource {
  readonly id: string;
  readonly name: string;
  readonly kind: 'aws' | 'local';
  readonly awsAccountId?: string;
  readonly roleArn?: string;
  readonly region?: string;
  readonly createdAt?: string;
  readonly verifiedAt?: string;
}

export interface AccountList {
  readonly items: readonly AccountResource[];
  /** The customer's ExternalId: the customer template's ExternalId parameter. */
  readonly externalId: string;
  /** The customer template's PlatformAccountId parameter. */
  readonly platformAccountId?: string;
  /** Where the customer template can be launched from. */
  readonly templateUrl?: string;
  /** The console's quick-create link for the template, for the default region, with both parameters filled in. */
  readonly launchStackUrl?: string;
}

export const LOCAL_ACCOUNT: AccountResource = { id: LOCAL_ACCOUNT_ID, name: 'This machine', kind: 'local' };

export interface AccountRepository {
  /** The owner's ExternalId, if one was issued. */
  getExternalId(ownerId: string): Promise<string | undefined>;
  /** Stores `externalId` as the owner's unless one is stored already; returns the one stored (either way). */
  claimExternalId(ownerId: string, externalId: string): Promise<string>;
  list(ownerId: string): Promise<AccountRecord[]>;
  get(ownerId: string, id: string): Promise<AccountRecord | undefined>;
  /** Stores a new connection; Conflict when the owner has connected the same role already. */
  create(record: AccountRecord): Promise<void>;
  /** NotFound when there is no such account (any more). */
  delete(ownerId: string, id: string): Promise<void>;
}

export type VerifyOutcome = 'verified' | 'denied' | 'no-backup-bucket';

export interface AccountVerifier {
  /**
   * Assumes the role the way the workflows will: `denied` when the role refuses (no such role, a
   * trust policy without the platform account or the ExternalId); then looks for the account's
   * backup bucket in the connection's region with the role: `no-backup-bucket` when it is not
   * there (the template was launched in another region) or the role may not reach it. Throws
   * Conflict where AWS cannot be reached at all (the local cloud).
   */
  verify(connection: AccountConnection, backupBucket: string): Promise<VerifyOutcome>;
}

export interface AccountServiceDependencies {
  readonly repository: AccountRepository;
  readonly verifier: AccountVerifier;
  /** To refuse removing an account that deployed plans still run in. */
  readonly plans: Pick<PlanService, 'list'>;
  readonly deployments: Pick<DeploymentRepository, 'listByOwner'>;
  readonly now: () => Date;
  readonly newId: () => string;
  /** 32 or more random URL-safe characters. */
  readonly newExternalId: () => string;
  /** The local cloud lists this machine, where plans with target local run, as an account of every customer. */
  readonly builtInLocal: boolean;
  readonly platformAccountId?: string;
  readonly templateUrl?: string;
}

export const connectAccountSchema = z.strictObject({
  roleArn: z
    .string()
    .regex(ROLE_ARN, 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/CloudSeedDeployer')
    .refine(
      (arn) => DEPLOYER_ROLE.test(ROLE_ARN.exec(arn)?.[3] ?? ''),
      `must be the role the CloudSeed template created: its name starts with ${DEPLOYER_ROLE_NAME}, without a path`,
    ),
  name: planName.optional(),
  region: awsRegion
    .default(DEFAULT_AWS_REGION)
    .describe('The region the CloudSeed template was launched in: the backup bucket is there, and new plans on the account default to it'),
});

export type ConnectAccountInput = z.input<typeof connectAccountSchema>;

/** The body of `POST /v1/accounts` as a JSON Schema (2020-12), for the OpenAPI document. */
export const connectAccountJsonSchema = {
  ...z.toJSONSchema(connectAccountSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  title: 'Connect an AWS account',
};

export function accountResource(record: AccountRecord): AccountResource {
  const { id, name, awsAccountId, roleArn, region, createdAt, verifiedAt } = record;
  return { id, name, kind: 'aws', awsAccountId, roleArn, region, createdAt, verifiedAt };
}

/** IAM role names are unique regardless of case: two ARNs that differ only in case name one role. */
export function sameRole(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function targets(target: Target | undefined, accountId: string): boolean {
  return target?.cloud === 'aws' && target.accountId === accountId;
}

export class AccountService {
  readonly #deps: AccountServiceDependencies;

  constructor(deps: AccountServiceDependencies) {
    this.#deps = deps;
  }

  async list(ownerId: string): Promise<AccountList> {
    const [externalId, records] = await Promise.all([this.#externalId(ownerId), this.#deps.repository.list(ownerId)]);
    const connected = [...records].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)).map(accountResource);
    const { platformAccountId, templateUrl } = this.#deps;
    const launch = this.#launchStackUrl(externalId, DEFAULT_AWS_REGION);
    return {
      items: this.#deps.builtInLocal ? [LOCAL_ACCOUNT, ...connected] : connected,
      externalId,
      ...(platformAccountId ? { platformAccountId } : {}),
      ...(templateUrl ? { templateUrl } : {}),
      ...(launch ? { launchStackUrl: launch } : {}),
    };
  }

  /** Connects an account once CloudSeed has assumed its role with the customer's ExternalId. */
  async connect(ownerId: string, body: unknown): Promise<AccountRecord> {
    const parsed = connectAccountSchema.safeParse(body, { reportInput: true });
    if (!parsed.success)
      throw new ValidationFailed(toProblems(parsed.error.issues), 'The account connection is not valid; see errors for each field.');
    const { roleArn, region } = parsed.data;
    const awsAccountId = awsAccountIdOf(roleArn) ?? '';
    const existing = await this.#deps.repository.list(ownerId);
    if (existing.some((account) => sameRole(account.roleArn, roleArn))) throw new Conflict('This role is connected already.');
    if (existing.length >= MAX_ACCOUNTS)
      throw new Conflict(`You have connected ${MAX_ACCOUNTS} accounts, the most CloudSeed allows; remove one first.`);
    const externalId = await this.#externalId(ownerId);
    const backupBucket = backupBucketName(awsAccountId, region);
    const outcome = await this.#deps.verifier.verify({ roleArn, externalId, region }, backupBucket);
    const launch = this.#launchStackUrl(externalId, region);
    const relaunch = launch ? ` To create it, launch the CloudSeed template in ${region}: ${launch}` : '';
    if (outcome === 'denied') {
      throw new ValidationFailed([{ path: '/roleArn', message: DENIED_MESSAGE }], `CloudSeed could not assume the role; see errors.${relaunch}`);
    }
    if (outcome === 'no-backup-bucket') {
      const message = `CloudSeed cannot reach the backup bucket ${backupBucket} with this role: give the region the CloudSeed template was launched in, and launch its current version`;
      throw new ValidationFailed([{ path: '/region', message }], `The account's backup bucket is not in ${region}; see errors.${relaunch}`);
    }
    const now = this.#deps.now().toISOString();
    const record: AccountRecord = {
      ownerId,
      id: this.#deps.newId(),
      name: parsed.data.name ?? `AWS ${awsAccountId}`,
      roleArn,
      awsAccountId,
      region,
      createdAt: now,
      verifiedAt: now,
    };
    await this.#deps.repository.create(record);
    return record;
  }

  /** Removes a connection no deployed plan runs in any more. */
  async disconnect(ownerId: string, id: string): Promise<void> {
    if (this.#deps.builtInLocal && id === LOCAL_ACCOUNT_ID)
      throw new Conflict('The local account is built into the local cloud; it cannot be removed.');
    if (!(await this.find(ownerId, id))) throw new NotFound(`There is no account ${id}.`);
    const using = await this.#plansUsing(ownerId, id);
    if (using.length > 0) {
      throw new Conflict(
        `Deployed plans run in this account (${using.join(', ')}); delete them, or wait for their teardown to finish, before removing it.`,
      );
    }
    await this.#deps.repository.delete(ownerId, id);
  }

  /** The owner's account with this id, if there is one. */
  async find(ownerId: string, id: string): Promise<AccountRecord | undefined> {
    return ACCOUNT_ID.test(id) ? this.#deps.repository.get(ownerId, id) : undefined;
  }

  /** The bucket the backups of plans deployed to the account a target names go to; undefined for local targets and accounts that are not connected. */
  async backupBucketFor(ownerId: string, target: Target): Promise<string | undefined> {
    if (target.cloud !== 'aws' || !target.accountId) return undefined;
    const account = await this.find(ownerId, target.accountId);
    return account ? backupBucketName(account.awsAccountId, account.region) : undefined;
  }

  /** How the provider reaches the account a target names; undefined for local targets and for accounts that are not connected. */
  async connectionFor(ownerId: string, target: Target): Promise<AccountConnection | undefined> {
    if (target.cloud !== 'aws' || !target.accountId) return undefined;
    const [account, externalId] = await Promise.all([this.find(ownerId, target.accountId), this.#deps.repository.getExternalId(ownerId)]);
    if (!account || !externalId) return undefined;
    return { roleArn: account.roleArn, externalId, region: target.region };
  }

  #launchStackUrl(externalId: string, region: string): string | undefined {
    const { platformAccountId, templateUrl } = this.#deps;
    return platformAccountId && templateUrl ? launchStackUrl({ templateUrl, platformAccountId, externalId, region }) : undefined;
  }

  async #externalId(ownerId: string): Promise<string> {
    return (await this.#deps.repository.getExternalId(ownerId)) ?? this.#deps.repository.claimExternalId(ownerId, this.#deps.newExternalId());
  }

  /** Names of the plans with a deployment (running, failed, deploying or being torn down) in the account, as deployed or as now written. */
  async #plansUsing(ownerId: string, accountId: string): Promise<string[]> {
    const deployed = await this.#deps.deployments.listByOwner(ownerId);
    if (deployed.length === 0) return [];
    const using = new Map(
      deployed.filter((deployment) => targets(deployment.spec.target, accountId)).map((deployment) => [deployment.planId, deployment.planId]),
    );
    const deployedIds = new Set(deployed.map((deployment) => deployment.planId));
    let afterId: string | undefined;
    do {
      const page = await this.#deps.plans.list(ownerId, { limit: MAX_PAGE_SIZE, ...(afterId ? { afterId } : {}) });
      for (const plan of page.items) {
        if (using.has(plan.id) || (deployedIds.has(plan.id) && targets(plan.spec.target, accountId))) using.set(plan.id, plan.spec.name);
      }
      afterId = page.lastId;
    } while (afterId);
    return [...using.values()];
  }
}
