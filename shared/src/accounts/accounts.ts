import * as z from 'zod';
import { toProblems } from '../cs-json/problems.ts';
import {
  awsRegion,
  azureRegion,
  azureResourceGroup,
  azureSubscription,
  DEFAULT_AWS_REGION,
  DEFAULT_AZURE_REGION,
  DEFAULT_GCP_REGION,
  gcpProject,
  gcpRegion,
  planName,
} from '../cs-json/schema.ts';
import type { Target } from '../cs-json/schema.ts';
import type { DeploymentRepository } from '../deployments/deployments.ts';
import { Conflict, NotFound, ValidationFailed } from '../errors.ts';
import { MAX_PAGE_SIZE } from '../plans/plans.ts';
import type { PlanService } from '../plans/plans.ts';
import { awsAccountIdOf, backupBucketName, DEPLOYER_ROLE_NAME, launchStackUrl } from '../targets/aws/account.ts';
import type { AzureConnection } from '../targets/azure/connection.ts';
import type { GcpConnection } from '../targets/gcp/connection.ts';

// The cloud accounts a customer connects, each stored only once CloudSeed has reached it the way the
// workflows will:
// - an AWS account: a role in it (created by the CloudSeed template) that trusts the platform
//   account under the customer's ExternalId, and the bucket the same template creates for the
//   backups of the plans deployed there. The ExternalId is issued once per customer and never
//   changes, so the template they launched keeps working. Verified by assuming the role and finding
//   the bucket in the region given.
// - a Google Cloud project: a Workload Identity pool that trusts the platform's federation role, and
//   a deployer service account it may impersonate (shared/src/targets/gcp/connection.ts). Verified
//   by impersonating it and testing its permissions on the project.
// - an Azure resource group: CloudSeed's multi-tenant app, consented to in the customer's tenant,
//   with the deployer role on the group (shared/src/targets/azure/connection.ts). Verified by
//   signing in as the app and reading its permissions on the group.
// None of them stores a secret. Storage and the checks are ports; DynamoDB, STS, Google's and
// Azure's identity services (or tests) plug in their own.

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

/** A connected Google Cloud project as the GCP provider reaches it. */
export interface GcpAccountConnection extends GcpConnection {
  readonly cloud: 'gcp';
}

/** A connected Azure resource group as the Azure provider reaches it. */
export interface AzureAccountConnection extends AzureConnection {
  readonly cloud: 'azure';
}

/** How a provider reaches the account a plan names: AWS connections carry no `cloud`, as they always have. */
export type CloudConnection = AccountConnection | GcpAccountConnection | AzureAccountConnection;

export type AccountCloud = 'aws' | 'gcp' | 'azure';

interface AccountRecordBase {
  readonly ownerId: string;
  readonly id: string;
  readonly name: string;
  /** The account's home region: what new plans on it default to. Each plan names its own region. */
  readonly region: string;
  readonly createdAt: string;
  /** When CloudSeed last reached the account with its connection. */
  readonly verifiedAt: string;
}

export interface AwsAccountRecord extends AccountRecordBase {
  readonly cloud: 'aws';
  readonly roleArn: string;
  /** The 12 digits of the role's account. */
  readonly awsAccountId: string;
}

export interface GcpAccountRecord extends AccountRecordBase, GcpConnection {
  readonly cloud: 'gcp';
}

export interface AzureAccountRecord extends AccountRecordBase, AzureConnection {
  readonly cloud: 'azure';
}

export type AccountRecord = AwsAccountRecord | GcpAccountRecord | AzureAccountRecord;

/** What the API shows of an account; the built-in local one has only id, name and kind. */
export interface AccountResource {
  readonly id: string;
  readonly name: string;
  readonly kind: AccountCloud | 'local';
  readonly region?: string;
  readonly createdAt?: string;
  readonly verifiedAt?: string;
  /** AWS: the role's account and the role. */
  readonly awsAccountId?: string;
  readonly roleArn?: string;
  /** Google Cloud: the project. */
  readonly projectId?: string;
  readonly projectNumber?: string;
  /** Azure: the tenant, the subscription and the resource group plans deploy into. */
  readonly tenantId?: string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
}

/** Who CloudSeed is to Google Cloud and Azure: what a customer's trust names. Only the platform on AWS has one. */
export interface FederationIdentity {
  /** The platform's AWS account. */
  readonly awsAccountId: string;
  /** The role the platform signs in to Google Cloud and Azure as; a project's pool admits only it. */
  readonly roleName: string;
  /** CloudSeed's multi-tenant Entra app, which a customer consents to; absent where the platform has none. */
  readonly azureAppId?: string;
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
  /** What the gcloud and az commands that connect a project or a resource group name; absent in the local cloud. */
  readonly federation?: FederationIdentity;
}

export const LOCAL_ACCOUNT: AccountResource = { id: LOCAL_ACCOUNT_ID, name: 'This machine', kind: 'local' };

export interface AccountRepository {
  /** The owner's ExternalId, if one was issued. */
  getExternalId(ownerId: string): Promise<string | undefined>;
  /** Stores `externalId` as the owner's unless one is stored already; returns the one stored (either way). */
  claimExternalId(ownerId: string, externalId: string): Promise<string>;
  list(ownerId: string): Promise<AccountRecord[]>;
  get(ownerId: string, id: string): Promise<AccountRecord | undefined>;
  /** Stores a new connection; Conflict when the owner has connected the same role, project or resource group already. */
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

/** Whether CloudSeed reached a Google Cloud project or an Azure resource group; if not, the field to blame and why. */
export type CloudVerifyOutcome = { readonly ok: true } | { readonly ok: false; readonly path: string; readonly message: string };

export interface GcpAccountVerifier {
  /**
   * Impersonates the project's deployer service account through its Workload Identity pool, as the
   * workflows will, and tests the deployer's permissions on the project. Throws Conflict where
   * Google Cloud cannot be reached at all (the local cloud).
   */
  verify(connection: GcpConnection): Promise<CloudVerifyOutcome>;
}

export interface AzureAccountVerifier {
  /**
   * Signs in to the customer's tenant as CloudSeed's app, as the workflows will, and reads the app's
   * permissions on the resource group and the backup group. Throws Conflict where Azure cannot be
   * reached at all (the local cloud).
   */
  verify(connection: AzureConnection): Promise<CloudVerifyOutcome>;
}

export interface AccountServiceDependencies {
  readonly repository: AccountRepository;
  readonly verifier: AccountVerifier;
  readonly gcpVerifier: GcpAccountVerifier;
  readonly azureVerifier: AzureAccountVerifier;
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
  readonly federation?: FederationIdentity;
}

const GCP_PROJECT_NUMBER = /^[1-9]\d{5,18}$/;

export const connectAwsAccountSchema = z.strictObject({
  cloud: z.literal('aws').optional(),
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

export const connectGcpAccountSchema = z.strictObject({
  cloud: z.literal('gcp'),
  projectId: gcpProject,
  projectNumber: z
    .string()
    .regex(GCP_PROJECT_NUMBER, 'must be the project number: 6-19 digits, as `gcloud projects describe` prints it')
    .describe('The Workload Identity pool is named by the project number'),
  name: planName.optional(),
  region: gcpRegion.default(DEFAULT_GCP_REGION).describe('What new plans on the project default to'),
});

export const connectAzureAccountSchema = z.strictObject({
  cloud: z.literal('azure'),
  tenantId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be your Entra tenant id (a GUID in lower case)'),
  subscriptionId: azureSubscription,
  resourceGroup: azureResourceGroup.describe('The resource group plans deploy into; CloudSeed holds its deployer role there only'),
  name: planName.optional(),
  region: azureRegion.default(DEFAULT_AZURE_REGION).describe('What new plans on the resource group default to'),
});

/** The body of `POST /v1/accounts`: an AWS role (the default, with or without `cloud`), a Google Cloud project or an Azure resource group. */
export const connectAccountSchema = z.union([connectAwsAccountSchema, connectGcpAccountSchema, connectAzureAccountSchema]);

export type ConnectAccountInput = z.input<typeof connectAccountSchema>;
export type ConnectAwsAccountInput = z.input<typeof connectAwsAccountSchema>;
export type ConnectGcpAccountInput = z.input<typeof connectGcpAccountSchema>;
export type ConnectAzureAccountInput = z.input<typeof connectAzureAccountSchema>;

/** The body of `POST /v1/accounts` as a JSON Schema (2020-12), for the OpenAPI document. */
export const connectAccountJsonSchema = {
  ...z.toJSONSchema(connectAccountSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  title: 'Connect an AWS account, a Google Cloud project or an Azure resource group',
};

export const CLOUD_NAMES: Readonly<Record<AccountCloud, string>> = { aws: 'AWS', gcp: 'Google Cloud', azure: 'Azure' };

/**
 * The connection body checked by the schema its `cloud` picks (AWS when it names none), so that each
 * problem names a field of that cloud's body rather than a mismatch with all three.
 */
function parseConnection(body: unknown) {
  const cloud = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { cloud?: unknown }).cloud : undefined;
  const parsed =
    cloud === undefined || cloud === 'aws'
      ? connectAwsAccountSchema.safeParse(body, { reportInput: true })
      : cloud === 'gcp'
        ? connectGcpAccountSchema.safeParse(body, { reportInput: true })
        : cloud === 'azure'
          ? connectAzureAccountSchema.safeParse(body, { reportInput: true })
          : undefined;
  if (!parsed)
    throw new ValidationFailed([{ path: '/cloud', message: 'must be "aws", "gcp" or "azure"' }], 'The account connection is not valid; see errors.');
  if (!parsed.success) throw new ValidationFailed(toProblems(parsed.error.issues), 'The account connection is not valid; see errors.');
  return parsed.data;
}

export function accountResource(record: AccountRecord): AccountResource {
  const { id, name, region, createdAt, verifiedAt } = record;
  const common = { id, name, kind: record.cloud, region, createdAt, verifiedAt } as const;
  switch (record.cloud) {
    case 'aws':
      return { ...common, awsAccountId: record.awsAccountId, roleArn: record.roleArn };
    case 'gcp':
      return { ...common, projectId: record.projectId, projectNumber: record.projectNumber };
    case 'azure':
      return { ...common, tenantId: record.tenantId, subscriptionId: record.subscriptionId, resourceGroup: record.resourceGroup };
  }
}

/** Azure resource group names, like IAM role names, are unique regardless of case. */
function sameGroup(
  a: Pick<AzureConnection, 'subscriptionId' | 'resourceGroup'>,
  b: Pick<AzureConnection, 'subscriptionId' | 'resourceGroup'>,
): boolean {
  return a.subscriptionId === b.subscriptionId && a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase();
}

/** Whether two records connect the same role, project or resource group. */
export function sameConnection(a: AccountRecord, b: AccountRecord): boolean {
  if (a.cloud === 'aws' && b.cloud === 'aws') return sameRole(a.roleArn, b.roleArn);
  if (a.cloud === 'gcp' && b.cloud === 'gcp') return a.projectId === b.projectId;
  if (a.cloud === 'azure' && b.cloud === 'azure') return sameGroup(a, b);
  return false;
}

/**
 * Why a connected account cannot take a plan's target, or undefined when it can: it must be of the
 * target's cloud and, on Google Cloud and Azure, the very project or resource group the target names
 * (the connection's trust reaches nothing else).
 */
export function accountMismatch(account: AccountRecord, target: Target): string | undefined {
  if (target.cloud === 'local') return 'a local plan names no account';
  if (account.cloud !== target.cloud)
    return `account ${account.id} connects ${CLOUD_NAMES[account.cloud]}, and the plan deploys to ${CLOUD_NAMES[target.cloud]}`;
  if (account.cloud === 'gcp' && target.cloud === 'gcp' && account.projectId !== target.project)
    return `account ${account.id} connects project ${account.projectId}, and the plan names project ${target.project}`;
  if (account.cloud === 'azure' && target.cloud === 'azure' && !sameGroup(account, target))
    return `account ${account.id} connects resource group ${account.resourceGroup} of subscription ${account.subscriptionId}, and the plan names ${target.resourceGroup} of ${target.subscriptionId}`;
  return undefined;
}

/** IAM role names are unique regardless of case: two ARNs that differ only in case name one role. */
export function sameRole(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function targets(target: Target | undefined, accountId: string): boolean {
  return target !== undefined && target.cloud !== 'local' && target.accountId === accountId;
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

  /**
   * Connects an AWS account once CloudSeed has assumed its role with the customer's ExternalId, a
   * Google Cloud project once it has impersonated the project's deployer, or an Azure resource group
   * once it has signed in as its app there; each with the permissions the workflows need.
   */
  async connect(ownerId: string, body: unknown): Promise<AccountRecord> {
    const input = parseConnection(body);
    const existing = await this.#deps.repository.list(ownerId);
    const check = (candidate: AccountRecord, already: string) => {
      if (existing.some((account) => sameConnection(account, candidate))) throw new Conflict(already);
      if (existing.length >= MAX_ACCOUNTS)
        throw new Conflict(`You have connected ${MAX_ACCOUNTS} accounts, the most CloudSeed allows; remove one first.`);
    };
    const now = this.#deps.now().toISOString();
    const base = { ownerId, id: this.#deps.newId(), region: input.region, createdAt: now, verifiedAt: now };
    let record: AccountRecord;
    if (input.cloud === 'gcp') {
      const { projectId, projectNumber } = input;
      record = { ...base, cloud: 'gcp', name: input.name ?? `Google Cloud ${projectId}`, projectId, projectNumber };
      check(record, 'This Google Cloud project is connected already.');
      const outcome = await this.#deps.gcpVerifier.verify({ projectId, projectNumber });
      if (!outcome.ok)
        throw new ValidationFailed(
          [{ path: outcome.path, message: outcome.message }],
          `CloudSeed could not deploy to project ${projectId} with its connection; see errors, and run the gcloud commands the accounts page gives.`,
        );
    } else if (input.cloud === 'azure') {
      const { tenantId, subscriptionId, resourceGroup } = input;
      record = { ...base, cloud: 'azure', name: input.name ?? `Azure ${resourceGroup}`, tenantId, subscriptionId, resourceGroup };
      check(record, 'This resource group is connected already.');
      const outcome = await this.#deps.azureVerifier.verify({ tenantId, subscriptionId, resourceGroup });
      if (!outcome.ok)
        throw new ValidationFailed(
          [{ path: outcome.path, message: outcome.message }],
          `CloudSeed could not deploy to resource group ${resourceGroup} with its connection; see errors, and run the az commands the accounts page gives.`,
        );
    } else {
      record = await this.#connectAws(ownerId, input, base, check);
    }
    await this.#deps.repository.create(record);
    return record;
  }

  async #connectAws(
    ownerId: string,
    input: z.output<typeof connectAwsAccountSchema>,
    base: Omit<AccountRecordBase, 'name'>,
    check: (candidate: AccountRecord, already: string) => void,
  ): Promise<AccountRecord> {
    const { roleArn, region } = input;
    const awsAccountId = awsAccountIdOf(roleArn) ?? '';
    const record: AwsAccountRecord = { ...base, cloud: 'aws', name: input.name ?? `AWS ${awsAccountId}`, roleArn, awsAccountId };
    check(record, 'This role is connected already.');
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

  /** The bucket the backups of plans deployed to the AWS account a target names go to; undefined for other targets and accounts that are not connected. */
  async backupBucketFor(ownerId: string, target: Target): Promise<string | undefined> {
    if (target.cloud !== 'aws' || !target.accountId) return undefined;
    const account = await this.find(ownerId, target.accountId);
    return account?.cloud === 'aws' ? backupBucketName(account.awsAccountId, account.region) : undefined;
  }

  /**
   * How the provider reaches the account a target names; undefined for local targets, for accounts
   * that are not connected (any more), and for an account that cannot take the target (accountMismatch).
   */
  async connectionFor(ownerId: string, target: Target): Promise<CloudConnection | undefined> {
    if (target.cloud === 'local' || !target.accountId) return undefined;
    const account = await this.find(ownerId, target.accountId);
    if (!account || accountMismatch(account, target) !== undefined) return undefined;
    switch (account.cloud) {
      case 'aws': {
        const externalId = await this.#deps.repository.getExternalId(ownerId);
        return externalId && target.cloud === 'aws' ? { roleArn: account.roleArn, externalId, region: target.region } : undefined;
      }
      case 'gcp':
        return { cloud: 'gcp', projectId: account.projectId, projectNumber: account.projectNumber };
      case 'azure':
        return { cloud: 'azure', tenantId: account.tenantId, subscriptionId: account.subscriptionId, resourceGroup: account.resourceGroup };
    }
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
