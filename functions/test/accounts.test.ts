import { HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import {
  AccountService,
  Conflict,
  DENIED_MESSAGE,
  DeployService,
  LOCAL_ACCOUNT,
  MAX_ACCOUNTS,
  NotFound,
  PlanService,
  ValidationFailed,
  backupBucketName,
  backupBucketRegion,
  launchStackUrl,
  sameConnection,
} from '@cloudseed/shared';
import type {
  AccountConnection,
  AccountRecord,
  CloudVerifyOutcome,
  AccountRepository,
  AccountVerifier,
  DeploymentRecord,
  DeploymentRepository,
  PlanPage,
  PlanRecord,
  PlanRepository,
  VerifyOutcome,
  WorkflowEngine,
  WorkflowInput,
} from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StsAccountVerifier } from '../providers/aws/account-verifier.ts';
import { LOCAL_CANNOT_CONNECT, LocalAccountVerifier, LocalCloudVerifier } from '../providers/local/account-verifier.ts';
import type { AzureConnection } from '@cloudseed/shared/targets/azure/connection';
import type { GcpConnection } from '@cloudseed/shared/targets/gcp/connection';

const stsMock = mockClient(STSClient);
const s3Mock = mockClient(S3Client);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/CloudSeedDeployer';
const CONNECTION: AccountConnection = { roleArn: ROLE_ARN, externalId: 'Zk3d9Qm1x7VbT2rLp8sN4wHc6yJ0aEuF', region: 'eu-central-1' };
const BUCKET = 'cloudseed-backups-123456789012-eu-central-1';

function stsError(name: string, status: number): STSServiceException {
  return new STSServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} from STS`,
  });
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} from S3`,
  });
}

function assumes(): void {
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIAVERIFY', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date('2030-01-01T00:15:00Z') },
  });
}

describe('StsAccountVerifier', () => {
  beforeEach(() => {
    stsMock.reset();
    s3Mock.reset();
    stsMock.onAnyCommand().rejects(new Error('unexpected STS command'));
    s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
  });

  it("assumes the role with the customer's ExternalId, a verify session name and 15 minutes, then finds the backup bucket with it", async () => {
    assumes();
    s3Mock.on(HeadBucketCommand).resolves({ BucketRegion: 'eu-central-1' });

    const outcome = await new StsAccountVerifier(new STSClient({ region: 'us-east-1' })).verify(CONNECTION, BUCKET);

    expect(outcome).toBe('verified');
    const calls = stsMock.commandCalls(AssumeRoleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toStrictEqual({
      RoleArn: ROLE_ARN,
      ExternalId: CONNECTION.externalId,
      RoleSessionName: 'cloudseed-verify',
      DurationSeconds: 900,
    });
    expect(stsMock.calls()).toHaveLength(1);
    expect(s3Mock.calls().map((call) => call.args[0].input)).toStrictEqual([{ Bucket: BUCKET }]);
    const s3 = s3Mock.call(0).thisValue as S3Client;
    expect(await s3.config.region()).toBe('eu-central-1');
    expect(await s3.config.credentials()).toMatchObject({ accessKeyId: 'ASIAVERIFY', sessionToken: 'token' });
  });

  it('answers denied when STS refuses with AccessDenied (no such role, wrong trust policy or ExternalId), without asking S3', async () => {
    stsMock.on(AssumeRoleCommand).rejects(stsError('AccessDenied', 403));

    await expect(new StsAccountVerifier(new STSClient({ region: 'us-east-1' })).verify(CONNECTION, BUCKET)).resolves.toBe('denied');
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it.each([
    ['is not there (another region)', s3Error('NotFound', 404)],
    ['is in another region', s3Error('PermanentRedirect', 301)],
    ['may not be listed by the role, or belongs to another account', s3Error('Forbidden', 403)],
  ])('answers no-backup-bucket when the bucket %s', async (_case, error) => {
    assumes();
    s3Mock.on(HeadBucketCommand).rejects(error);

    await expect(new StsAccountVerifier(new STSClient({ region: 'us-east-1' })).verify(CONNECTION, BUCKET)).resolves.toBe('no-backup-bucket');
  });

  it("lets any other failure through: it says nothing about the customer's role", async () => {
    stsMock.on(AssumeRoleCommand).rejects(stsError('ServiceUnavailable', 503));

    await expect(new StsAccountVerifier(new STSClient({ region: 'us-east-1' })).verify(CONNECTION, BUCKET)).rejects.toMatchObject({
      name: 'ServiceUnavailable',
    });
    assumes();
    s3Mock.on(HeadBucketCommand).rejects(s3Error('InternalError', 500));
    await expect(new StsAccountVerifier(new STSClient({ region: 'us-east-1' })).verify(CONNECTION, BUCKET)).rejects.toMatchObject({
      name: 'InternalError',
    });
  });
});

describe('the backup bucket of a connected account', () => {
  it('is named after the account and the region, and the name gives the region back', () => {
    expect(backupBucketName('123456789012', 'eu-central-1')).toBe(BUCKET);
    expect(backupBucketRegion(BUCKET)).toBe('eu-central-1');
    expect(backupBucketRegion('cloudseed-backups-123456789012-us-gov-west-1')).toBe('us-gov-west-1');
    expect(backupBucketRegion('cloudseed-backups-1234-eu-central-1')).toBeUndefined();
    expect(backupBucketRegion('my-backups')).toBeUndefined();
    // Within S3's 63 characters in the region with the longest name.
    expect(backupBucketName('123456789012', 'ap-southeast-7').length).toBeLessThanOrEqual(63);
  });
});

describe('launchStackUrl', () => {
  it('opens the console’s quick-create page in the region with the template, the stack name and both parameters', () => {
    const templateUrl = 'https://cloudseedplatform-customertemplatebucket1a2b3c-x9y8z7.s3.eu-west-1.amazonaws.com/cloudseed-account.json';

    const link = new URL(
      launchStackUrl({ templateUrl, platformAccountId: '999999999999', externalId: 'Zk3d9Qm1x7VbT2rLp8sN4wHc6yJ0aEu-_F', region: 'eu-central-1' }),
    );

    expect(`${link.origin}${link.pathname}`).toBe('https://console.aws.amazon.com/cloudformation/home');
    expect(link.searchParams.get('region')).toBe('eu-central-1');
    const [route, query] = link.hash.split('?');
    expect(route).toBe('#/stacks/quickcreate');
    expect([...new URLSearchParams(query)]).toEqual([
      ['templateURL', templateUrl],
      ['stackName', 'CloudSeed'],
      ['param_PlatformAccountId', '999999999999'],
      ['param_ExternalId', 'Zk3d9Qm1x7VbT2rLp8sN4wHc6yJ0aEu-_F'],
    ]);
    // Encoded, so the template URL's own ? or & could not end the fragment's parameters early.
    expect(link.hash).toContain('templateURL=https%3A%2F%2Fcloudseedplatform');
  });
});

describe('LocalAccountVerifier', () => {
  it('refuses with a Conflict that says where accounts can be connected', async () => {
    const error = await new LocalAccountVerifier().verify().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Conflict);
    expect((error as Conflict).message).toBe(LOCAL_CANNOT_CONNECT);
  });
});

// ---- AccountService over in-memory ports ----

class MemoryAccounts implements AccountRepository {
  readonly externalIds = new Map<string, string>();
  readonly records: AccountRecord[] = [];
  getExternalId(ownerId: string) {
    return Promise.resolve(this.externalIds.get(ownerId));
  }
  claimExternalId(ownerId: string, externalId: string) {
    if (!this.externalIds.has(ownerId)) this.externalIds.set(ownerId, externalId);
    return Promise.resolve(this.externalIds.get(ownerId)!);
  }
  list(ownerId: string) {
    return Promise.resolve(this.records.filter((record) => record.ownerId === ownerId));
  }
  get(ownerId: string, id: string) {
    return Promise.resolve(this.records.find((record) => record.ownerId === ownerId && record.id === id));
  }
  create(record: AccountRecord) {
    if (this.records.some((existing) => existing.ownerId === record.ownerId && sameConnection(existing, record)))
      return Promise.reject(new Conflict('raced'));
    this.records.push(record);
    return Promise.resolve();
  }
  delete(ownerId: string, id: string) {
    const index = this.records.findIndex((record) => record.ownerId === ownerId && record.id === id);
    if (index < 0) return Promise.reject(new NotFound('gone'));
    this.records.splice(index, 1);
    return Promise.resolve();
  }
}

class MemoryPlans implements PlanRepository {
  readonly records: PlanRecord[] = [];
  create(record: PlanRecord) {
    this.records.push(record);
    return Promise.resolve();
  }
  get(ownerId: string, id: string) {
    return Promise.resolve(this.records.find((record) => record.ownerId === ownerId && record.id === id));
  }
  /** One plan per page, so that the service must follow lastId. */
  list(ownerId: string, options: { limit: number; afterId?: string }): Promise<PlanPage> {
    const mine = this.records.filter((record) => record.ownerId === ownerId);
    const start = options.afterId ? mine.findIndex((record) => record.id === options.afterId) + 1 : 0;
    const items = mine.slice(start, start + 1);
    return Promise.resolve({ items, ...(start + 1 < mine.length ? { lastId: items[0]!.id } : {}) });
  }
  replace(record: PlanRecord) {
    const index = this.records.findIndex((existing) => existing.ownerId === record.ownerId && existing.id === record.id);
    this.records[index] = record;
    return Promise.resolve();
  }
  delete(ownerId: string, id: string) {
    const index = this.records.findIndex((record) => record.ownerId === ownerId && record.id === id);
    if (index >= 0) this.records.splice(index, 1);
    return Promise.resolve();
  }
}

class MemoryDeployments implements DeploymentRepository {
  readonly records: DeploymentRecord[] = [];
  get(ownerId: string, planId: string) {
    return Promise.resolve(this.records.find((record) => record.ownerId === ownerId && record.planId === planId));
  }
  listByOwner(ownerId: string) {
    return Promise.resolve(this.records.filter((record) => record.ownerId === ownerId));
  }
  start(record: DeploymentRecord) {
    this.records.push(record);
    return Promise.resolve();
  }
  update(ownerId: string, planId: string, _deploymentId: string, changes: Partial<DeploymentRecord>) {
    const index = this.records.findIndex((record) => record.ownerId === ownerId && record.planId === planId);
    const updated: DeploymentRecord = { ...this.records[index]!, ...changes };
    this.records[index] = updated;
    return Promise.resolve(updated);
  }
  listByStatus() {
    return Promise.resolve([]);
  }
  delete(ownerId: string, planId: string) {
    const index = this.records.findIndex((record) => record.ownerId === ownerId && record.planId === planId);
    if (index >= 0) this.records.splice(index, 1);
    return Promise.resolve();
  }
  claimBackup() {
    return Promise.resolve();
  }
  releaseBackup() {
    return Promise.resolve();
  }
}

class RecordingVerifier implements AccountVerifier {
  readonly calls: AccountConnection[] = [];
  readonly buckets: string[] = [];
  outcome: VerifyOutcome = 'verified';
  verify(connection: AccountConnection, backupBucket: string) {
    this.calls.push(connection);
    this.buckets.push(backupBucket);
    return Promise.resolve(this.outcome);
  }
}

/** Answers what the test sets, and records what it was asked. */
class RecordingCloudVerifier<Connection> {
  readonly calls: Connection[] = [];
  outcome: CloudVerifyOutcome = { ok: true };
  verify(connection: Connection) {
    this.calls.push(connection);
    return Promise.resolve(this.outcome);
  }
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const roleArn = (n: number) => `arn:aws:iam::${String(100_000_000_000 + n)}:role/CloudSeedDeployer`;

const TEMPLATE_URL = 'https://templates-bucket.s3.us-east-1.amazonaws.com/cloudseed-account.json';

function setup(options: { builtInLocal?: boolean; verifier?: AccountVerifier; templateUrl?: string } = {}) {
  const repository = new MemoryAccounts();
  const planRepository = new MemoryPlans();
  const deployments = new MemoryDeployments();
  const verifier = options.verifier ?? new RecordingVerifier();
  const gcpVerifier = new RecordingCloudVerifier<GcpConnection>();
  const azureVerifier = new RecordingCloudVerifier<AzureConnection>();
  let ids = 0;
  let externalIds = 0;
  const newId = () => uuid(++ids);
  const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, ids));
  const plans = new PlanService({ repository: planRepository, now, newId, defaultTarget: { cloud: 'local' } });
  const accounts = new AccountService({
    repository,
    verifier,
    gcpVerifier,
    azureVerifier,
    plans,
    deployments,
    now,
    newId,
    newExternalId: () => `external-id-${++externalIds}-${'x'.repeat(32)}`,
    builtInLocal: options.builtInLocal ?? false,
    platformAccountId: '999999999999',
    ...(options.templateUrl ? { templateUrl: options.templateUrl } : {}),
  });
  const started: WorkflowInput[] = [];
  const workflows: WorkflowEngine = {
    start: (input) => {
      started.push(input);
      return Promise.resolve(`arn:aws:states:us-east-1:999999999999:execution:deploy:${input.deploymentId}`);
    },
  };
  const deploys = new DeployService({ plans, deployments, accounts, workflows, now, newId });
  return { accounts, repository, plans, planRepository, deployments, verifier, gcpVerifier, azureVerifier, deploys, started };
}

function awsPlan(accountId?: string) {
  return {
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-west-1', ...(accountId ? { accountId } : {}) },
    components: [{ id: 'db', type: 'postgres' }],
  };
}

async function problemsOf(promise: Promise<unknown>) {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ValidationFailed);
  return (error as ValidationFailed).errors;
}

describe('AccountService.list', () => {
  it('issues each customer one ExternalId on first use and keeps it', async () => {
    const { accounts, repository } = setup();

    const first = await accounts.list('alice');
    const again = await accounts.list('alice');
    const bob = await accounts.list('bob');

    expect(first.externalId.length).toBeGreaterThanOrEqual(32);
    expect(again.externalId).toBe(first.externalId);
    expect(bob.externalId).not.toBe(first.externalId);
    expect(repository.externalIds.size).toBe(2);
    expect(first).toMatchObject({ items: [], platformAccountId: '999999999999' });
    expect(first).not.toHaveProperty('launchStackUrl');
  });

  it("gives the launch link for the default region, with the platform account and the customer's own ExternalId, once the template is published", async () => {
    const { accounts } = setup({ templateUrl: TEMPLATE_URL });

    const alice = await accounts.list('alice');
    const bob = await accounts.list('bob');

    expect(alice).toMatchObject({ templateUrl: TEMPLATE_URL, platformAccountId: '999999999999' });
    expect(alice.launchStackUrl).toBe(
      launchStackUrl({ templateUrl: TEMPLATE_URL, platformAccountId: '999999999999', externalId: alice.externalId, region: 'us-east-1' }),
    );
    expect(bob.launchStackUrl).toContain(`param_ExternalId=${bob.externalId}`);
    expect(bob.launchStackUrl).not.toContain(alice.externalId);
  });

  it('lists the built-in local account first in the local cloud', async () => {
    const { accounts } = setup({ builtInLocal: true });
    await accounts.connect('alice', { roleArn: ROLE_ARN });

    const { items } = await accounts.list('alice');

    expect(items[0]).toEqual({ id: 'local', kind: 'local', name: 'This machine' });
    expect(items[0]).toBe(LOCAL_ACCOUNT);
    expect(items[1]).toMatchObject({ kind: 'aws', roleArn: ROLE_ARN });
  });
});

describe('AccountService.connect', () => {
  it("verifies the role with the customer's ExternalId, then stores it with defaults filled", async () => {
    const { accounts, verifier } = setup();
    const { externalId } = await accounts.list('alice');

    const account = await accounts.connect('alice', { roleArn: ROLE_ARN });

    expect((verifier as RecordingVerifier).calls).toEqual([{ roleArn: ROLE_ARN, externalId, region: 'us-east-1' }]);
    expect((verifier as RecordingVerifier).buckets).toEqual(['cloudseed-backups-123456789012-us-east-1']);
    expect(account).toMatchObject({
      ownerId: 'alice',
      id: uuid(1),
      name: 'AWS 123456789012',
      awsAccountId: '123456789012',
      roleArn: ROLE_ARN,
      region: 'us-east-1',
    });
    expect(account.verifiedAt).toBe(account.createdAt);
    expect((await accounts.list('alice')).items).toEqual([
      {
        id: uuid(1),
        name: 'AWS 123456789012',
        kind: 'aws',
        awsAccountId: '123456789012',
        roleArn: ROLE_ARN,
        region: 'us-east-1',
        createdAt: account.createdAt,
        verifiedAt: account.verifiedAt,
      },
    ]);
  });

  it.each([
    ['not an ARN', { roleArn: 'CloudSeedDeployer' }, '/roleArn'],
    ['a user ARN', { roleArn: 'arn:aws:iam::123456789012:user/CloudSeedDeployer' }, '/roleArn'],
    ['another role', { roleArn: 'arn:aws:iam::123456789012:role/Admin' }, '/roleArn'],
    ['a role under a path', { roleArn: 'arn:aws:iam::123456789012:role/team/CloudSeedDeployer' }, '/roleArn'],
    ['a short account id', { roleArn: 'arn:aws:iam::12345:role/CloudSeedDeployer' }, '/roleArn'],
    ['a missing roleArn', { name: 'prod' }, '/roleArn'],
    ['an unknown field', { roleArn: ROLE_ARN, externalId: 'mine' }, '/externalId'],
    ['a bad region', { roleArn: ROLE_ARN, region: 'mars-1' }, '/region'],
    ['an unsafe name', { roleArn: ROLE_ARN, name: 'x; rm -rf /' }, '/name'],
  ])('refuses %s at the field, without calling STS', async (_label, body, path) => {
    const { accounts, verifier, repository } = setup();

    const errors = await problemsOf(accounts.connect('alice', body));

    expect(errors.map((error) => error.path)).toContain(path);
    expect((verifier as RecordingVerifier).calls).toEqual([]);
    expect(repository.records).toEqual([]);
  });

  it('accepts a role named after CloudSeedDeployer in another partition', async () => {
    const { accounts } = setup();
    const account = await accounts.connect('alice', {
      roleArn: 'arn:aws-us-gov:iam::123456789012:role/CloudSeedDeployer-prod',
      name: 'gov prod',
      region: 'us-gov-west-1',
    });
    expect(account).toMatchObject({ name: 'gov prod', region: 'us-gov-west-1', awsAccountId: '123456789012' });
  });

  it('maps a role that refuses to a 400 at /roleArn and stores nothing', async () => {
    const verifier = new RecordingVerifier();
    verifier.outcome = 'denied';
    const { accounts, repository } = setup({ verifier });

    const errors = await problemsOf(accounts.connect('alice', { roleArn: ROLE_ARN }));

    expect(errors).toEqual([{ path: '/roleArn', message: DENIED_MESSAGE }]);
    expect(repository.records).toEqual([]);
  });

  it('points a refused connection to the launch link for its region, when the template is published', async () => {
    const verifier = new RecordingVerifier();
    verifier.outcome = 'denied';
    const { accounts } = setup({ verifier, templateUrl: TEMPLATE_URL });
    const { externalId } = await accounts.list('alice');

    const error = await accounts.connect('alice', { roleArn: ROLE_ARN, region: 'eu-west-1' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ValidationFailed);
    const link = launchStackUrl({ templateUrl: TEMPLATE_URL, platformAccountId: '999999999999', externalId, region: 'eu-west-1' });
    expect((error as ValidationFailed).message).toBe(
      `CloudSeed could not assume the role; see errors. To create it, launch the CloudSeed template in eu-west-1: ${link}`,
    );
  });

  it('refuses a region where the account has no CloudSeed backup bucket at /region, and stores nothing', async () => {
    const verifier = new RecordingVerifier();
    verifier.outcome = 'no-backup-bucket';
    const { accounts, repository } = setup({ verifier });

    const errors = await problemsOf(accounts.connect('alice', { roleArn: ROLE_ARN, region: 'eu-west-1' }));

    expect(errors).toEqual([
      {
        path: '/region',
        message:
          'CloudSeed cannot reach the backup bucket cloudseed-backups-123456789012-eu-west-1 with this role: give the region the CloudSeed template was launched in, and launch its current version',
      },
    ]);
    expect(verifier.buckets).toEqual(['cloudseed-backups-123456789012-eu-west-1']);
    expect(repository.records).toEqual([]);
  });

  it('maps a missing bucket from S3 through the real verifier to the same 400', async () => {
    stsMock.reset();
    s3Mock.reset();
    assumes();
    s3Mock.on(HeadBucketCommand).rejects(s3Error('NotFound', 404));
    const { accounts } = setup({ verifier: new StsAccountVerifier(new STSClient({ region: 'us-east-1' })) });

    expect((await problemsOf(accounts.connect('alice', { roleArn: ROLE_ARN, region: 'ap-south-1' }))).map((problem) => problem.path)).toEqual([
      '/region',
    ]);
    expect(s3Mock.commandCalls(HeadBucketCommand).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'cloudseed-backups-123456789012-ap-south-1' },
    ]);
  });

  it('maps AccessDenied from STS through the real verifier to the same 400', async () => {
    stsMock.reset();
    stsMock.on(AssumeRoleCommand).rejects(stsError('AccessDenied', 403));
    const { accounts } = setup({ verifier: new StsAccountVerifier(new STSClient({ region: 'us-east-1' })) });

    expect(await problemsOf(accounts.connect('alice', { roleArn: ROLE_ARN }))).toEqual([
      { path: '/roleArn', message: 'CloudSeed cannot assume this role: check the trust policy names the platform account and your ExternalId' },
    ]);
  });

  it('refuses the same role twice (whatever its case), before calling STS', async () => {
    const { accounts, verifier } = setup();
    await accounts.connect('alice', { roleArn: ROLE_ARN });

    await expect(accounts.connect('alice', { roleArn: ROLE_ARN })).rejects.toBeInstanceOf(Conflict);
    await accounts.connect('alice', { roleArn: `${ROLE_ARN}-Prod` });
    await expect(accounts.connect('alice', { roleArn: `${ROLE_ARN}-prod` })).rejects.toBeInstanceOf(Conflict);
    expect((verifier as RecordingVerifier).calls).toHaveLength(2);
    // Another customer may connect the same role (their ExternalId differs; the role trusts one).
    await expect(accounts.connect('bob', { roleArn: ROLE_ARN })).resolves.toMatchObject({ ownerId: 'bob' });
  });

  it(`refuses a ${MAX_ACCOUNTS + 1}st account`, async () => {
    const { accounts, repository } = setup();
    for (let n = 0; n < MAX_ACCOUNTS; n++) await accounts.connect('alice', { roleArn: roleArn(n) });

    const error = await accounts.connect('alice', { roleArn: roleArn(MAX_ACCOUNTS) }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Conflict);
    expect((error as Conflict).message).toContain(String(MAX_ACCOUNTS));
    expect(repository.records).toHaveLength(MAX_ACCOUNTS);
  });

  it("refuses in the local cloud with the verifier's Conflict, after validating the body", async () => {
    const { accounts, repository } = setup({ builtInLocal: true, verifier: new LocalAccountVerifier() });

    await expect(accounts.connect('alice', { roleArn: 'nope' })).rejects.toBeInstanceOf(ValidationFailed);
    await expect(accounts.connect('alice', { roleArn: ROLE_ARN })).rejects.toThrow(LOCAL_CANNOT_CONNECT);
    expect(repository.records).toEqual([]);
  });
});

describe('AccountService.disconnect', () => {
  it('removes an account no deployed plan uses, even when an undeployed plan names it', async () => {
    const { accounts, plans, repository } = setup();
    const account = await accounts.connect('alice', { roleArn: ROLE_ARN });
    await plans.create('alice', awsPlan(account.id));

    await accounts.disconnect('alice', account.id);

    expect(repository.records).toEqual([]);
  });

  it('refuses while a plan with a deployment targets the account, as written or as deployed', async () => {
    const { accounts, plans, deploys, deployments, repository } = setup();
    const account = await accounts.connect('alice', { roleArn: ROLE_ARN });
    const other = await accounts.connect('alice', { roleArn: roleArn(1) });
    await plans.create('alice', { ...awsPlan(other.id), name: 'unrelated' });
    const plan = await plans.create('alice', awsPlan(account.id));
    await deploys.deploy('alice', plan.id);

    const error = await accounts.disconnect('alice', account.id).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Conflict);
    expect((error as Conflict).message).toContain('orders');

    // The plan now names another account, but what runs is still in this one.
    await plans.update('alice', plan.id, awsPlan(other.id));
    await expect(accounts.disconnect('alice', account.id)).rejects.toBeInstanceOf(Conflict);
    // And the plan's new account is in use too: a redeploy would go there.
    await expect(accounts.disconnect('alice', other.id)).rejects.toBeInstanceOf(Conflict);

    deployments.records.splice(0);
    await accounts.disconnect('alice', account.id);
    expect(repository.records.map((record) => record.id)).toEqual([other.id]);
  });

  it("answers 404 for an unknown id, a non-id and another customer's account", async () => {
    const { accounts, repository } = setup();
    const bobs = await accounts.connect('bob', { roleArn: ROLE_ARN });

    for (const id of [uuid(99), 'not-an-id', bobs.id]) await expect(accounts.disconnect('alice', id), id).rejects.toBeInstanceOf(NotFound);
    expect(repository.records).toHaveLength(1);
  });

  it('refuses the built-in local account in the local cloud', async () => {
    const { accounts } = setup({ builtInLocal: true });
    await expect(accounts.disconnect('alice', 'local')).rejects.toBeInstanceOf(Conflict);
  });
});

describe('AccountService.backupBucketFor', () => {
  it("names the bucket of the account a target names, in the region the account was connected in, not the plan's", async () => {
    const { accounts } = setup();
    const account = await accounts.connect('alice', { roleArn: ROLE_ARN, region: 'eu-central-1' });

    expect(await accounts.backupBucketFor('alice', { cloud: 'aws', region: 'eu-west-1', accountId: account.id })).toBe(
      'cloudseed-backups-123456789012-eu-central-1',
    );
    expect(await accounts.backupBucketFor('bob', { cloud: 'aws', region: 'eu-west-1', accountId: account.id })).toBeUndefined();
    expect(await accounts.backupBucketFor('alice', { cloud: 'aws', region: 'eu-west-1' })).toBeUndefined();
    expect(await accounts.backupBucketFor('alice', { cloud: 'local' })).toBeUndefined();
  });
});

describe('AccountService.connectionFor', () => {
  it("gives the provider the role, the customer's ExternalId and the plan's region", async () => {
    const { accounts } = setup();
    const account = await accounts.connect('alice', { roleArn: ROLE_ARN, region: 'us-east-1' });
    const { externalId } = await accounts.list('alice');

    expect(await accounts.connectionFor('alice', { cloud: 'aws', region: 'eu-west-1', accountId: account.id })).toEqual({
      roleArn: ROLE_ARN,
      externalId,
      region: 'eu-west-1',
    });
    expect(await accounts.connectionFor('bob', { cloud: 'aws', region: 'eu-west-1', accountId: account.id })).toBeUndefined();
    expect(await accounts.connectionFor('alice', { cloud: 'aws', region: 'eu-west-1' })).toBeUndefined();
    expect(await accounts.connectionFor('alice', { cloud: 'local' })).toBeUndefined();
  });
});

describe('DeployService with accounts', () => {
  it.each([
    ['an account that is not connected', uuid(42)],
    ['no account at all', undefined],
  ])('refuses a plan on AWS naming %s at /target/accountId, and starts nothing', async (_label, accountId) => {
    const { plans, deploys, deployments, started } = setup();
    const plan = await plans.create('alice', awsPlan(accountId));

    const errors = await problemsOf(deploys.deploy('alice', plan.id));

    expect(errors).toEqual([{ path: '/target/accountId', message: expect.stringMatching(/^no connected account/) as unknown }]);
    expect(started).toEqual([]);
    expect(deployments.records).toEqual([]);
  });

  it("refuses another customer's account", async () => {
    const { accounts, plans, deploys, started } = setup();
    const bobs = await accounts.connect('bob', { roleArn: ROLE_ARN });
    const plan = await plans.create('alice', awsPlan(bobs.id));

    await expect(deploys.deploy('alice', plan.id)).rejects.toBeInstanceOf(ValidationFailed);
    expect(started).toEqual([]);
  });

  it('deploys a plan on a connected account, and a local plan as before', async () => {
    const { accounts, plans, deploys, started } = setup();
    const account = await accounts.connect('alice', { roleArn: ROLE_ARN });
    const onAws = await plans.create('alice', awsPlan(account.id));
    const local = await plans.create('alice', { ...awsPlan(), target: { cloud: 'local' } });

    await deploys.deploy('alice', onAws.id);
    await deploys.deploy('alice', local.id);

    expect(started.map((input) => input.planId)).toEqual([onAws.id, local.id]);
  });
});

const GCP_BODY = { cloud: 'gcp', projectId: 'acme-prod-4821', projectNumber: '482113570042' } as const;
const AZURE_BODY = {
  cloud: 'azure',
  tenantId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  subscriptionId: '6f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
  resourceGroup: 'acme-prod',
} as const;

function gcpPlan(accountId?: string, options: { project?: string; backups?: boolean; app?: boolean } = {}) {
  return {
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'gcp', project: options.project ?? GCP_BODY.projectId, region: 'europe-west4', ...(accountId ? { accountId } : {}) },
    components: [
      { id: 'db', type: 'postgres', db: { backup: { enabled: options.backups ?? false } } },
      ...(options.app ? [{ id: 'web', type: 'app', source: { repoUrl: 'https://github.com/acme/web.git' }, database: { component: 'db' } }] : []),
    ],
  };
}

function azurePlan(accountId?: string, resourceGroup: string = AZURE_BODY.resourceGroup) {
  return {
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'azure', subscriptionId: AZURE_BODY.subscriptionId, resourceGroup, region: 'westeurope', ...(accountId ? { accountId } : {}) },
    components: [{ id: 'db', type: 'postgres', db: { backup: { enabled: false } } }],
  };
}

describe('AccountService.connect on Google Cloud and Azure', () => {
  it('verifies a Google Cloud project through its verifier, then stores it with its defaults', async () => {
    const verifier = new RecordingVerifier();
    const { accounts, gcpVerifier, repository } = setup({ verifier });

    const record = await accounts.connect('alice', GCP_BODY);

    expect(gcpVerifier.calls).toEqual([{ projectId: 'acme-prod-4821', projectNumber: '482113570042' }]);
    expect(verifier.calls).toEqual([]);
    expect(record).toMatchObject({ ...GCP_BODY, name: 'Google Cloud acme-prod-4821', region: 'us-central1' });
    expect(repository.records).toEqual([record]);
    expect((await accounts.list('alice')).items).toEqual([
      {
        id: record.id,
        name: 'Google Cloud acme-prod-4821',
        kind: 'gcp',
        region: 'us-central1',
        projectId: 'acme-prod-4821',
        projectNumber: '482113570042',
        createdAt: record.createdAt,
        verifiedAt: record.verifiedAt,
      },
    ]);
  });

  it('verifies an Azure resource group through its verifier, then stores it under the name given', async () => {
    const { accounts, azureVerifier, repository } = setup();

    const record = await accounts.connect('alice', { ...AZURE_BODY, name: 'Production', region: 'westeurope' });

    expect(azureVerifier.calls).toEqual([{ tenantId: AZURE_BODY.tenantId, subscriptionId: AZURE_BODY.subscriptionId, resourceGroup: 'acme-prod' }]);
    expect(record).toMatchObject({ ...AZURE_BODY, name: 'Production', region: 'westeurope' });
    expect(repository.records).toEqual([record]);
  });

  it.each([
    [{ ...GCP_BODY, projectNumber: '12' }, '/projectNumber'],
    [{ ...GCP_BODY, projectId: 'Acme' }, '/projectId'],
    [{ ...GCP_BODY, roleArn: ROLE_ARN }, '/roleArn'],
    [{ ...AZURE_BODY, tenantId: 'contoso' }, '/tenantId'],
    [{ ...AZURE_BODY, resourceGroup: 'ends.' }, '/resourceGroup'],
    [{ ...AZURE_BODY, region: 'West Europe' }, '/region'],
    [{ cloud: 'oracle' }, '/cloud'],
  ])('refuses %j with a 400 at %s, asks no cloud and stores nothing', async (body, path) => {
    const { accounts, gcpVerifier, azureVerifier, repository } = setup();

    const errors = await problemsOf(accounts.connect('alice', body));

    expect(errors.map((error) => error.path)).toContain(path);
    expect([...gcpVerifier.calls, ...azureVerifier.calls]).toEqual([]);
    expect(repository.records).toEqual([]);
  });

  it("passes the verifier's refusal on as a 400 at the field it names, and stores nothing", async () => {
    const { accounts, gcpVerifier, azureVerifier, repository } = setup();
    gcpVerifier.outcome = { ok: false, path: '/projectId', message: 'the deployer service account lacks compute.instances.create' };
    azureVerifier.outcome = { ok: false, path: '/tenantId', message: "CloudSeed's app cannot sign in to tenant" };

    expect(await problemsOf(accounts.connect('alice', GCP_BODY))).toEqual([
      { path: '/projectId', message: 'the deployer service account lacks compute.instances.create' },
    ]);
    expect(await problemsOf(accounts.connect('alice', AZURE_BODY))).toEqual([
      { path: '/tenantId', message: "CloudSeed's app cannot sign in to tenant" },
    ]);
    expect(repository.records).toEqual([]);
  });

  it('refuses the same project, or the same resource group whatever its case, twice; the same project for another customer is theirs', async () => {
    const { accounts, gcpVerifier } = setup();
    await accounts.connect('alice', GCP_BODY);
    await accounts.connect('alice', AZURE_BODY);

    await expect(accounts.connect('alice', GCP_BODY)).rejects.toThrow(new Conflict('This Google Cloud project is connected already.'));
    await expect(accounts.connect('alice', { ...AZURE_BODY, resourceGroup: 'ACME-PROD' })).rejects.toThrow(
      new Conflict('This resource group is connected already.'),
    );
    await accounts.connect('bob', GCP_BODY);
    expect(gcpVerifier.calls).toHaveLength(2);
  });

  it('refuses in the local cloud with a Conflict that says where Google Cloud and Azure can be connected', async () => {
    await expect(new LocalCloudVerifier('Google Cloud', true).verify()).rejects.toThrow(/The local cloud cannot reach Google Cloud/);
    await expect(new LocalCloudVerifier('Azure', false).verify()).rejects.toThrow(/no federation role or Entra app to sign in to Azure/);
  });
});

describe('AccountService.connectionFor on Google Cloud and Azure', () => {
  it('gives the provider the project or the resource group the account connects, only for a target that names it', async () => {
    const { accounts } = setup();
    const gcp = await accounts.connect('alice', GCP_BODY);
    const azure = await accounts.connect('alice', AZURE_BODY);
    const gcpTarget = { cloud: 'gcp', project: 'acme-prod-4821', region: 'europe-west4', zone: 'europe-west4-a', accountId: gcp.id } as const;
    const azureTarget = {
      cloud: 'azure',
      subscriptionId: AZURE_BODY.subscriptionId,
      resourceGroup: 'Acme-Prod',
      region: 'westeurope',
      accountId: azure.id,
    } as const;

    expect(await accounts.connectionFor('alice', gcpTarget)).toEqual({ cloud: 'gcp', projectId: 'acme-prod-4821', projectNumber: '482113570042' });
    expect(await accounts.connectionFor('alice', azureTarget)).toEqual({
      cloud: 'azure',
      tenantId: AZURE_BODY.tenantId,
      subscriptionId: AZURE_BODY.subscriptionId,
      resourceGroup: 'acme-prod',
    });
    expect(await accounts.connectionFor('alice', { ...gcpTarget, project: 'acme-staging-1' })).toBeUndefined();
    expect(await accounts.connectionFor('alice', { ...azureTarget, resourceGroup: 'other' })).toBeUndefined();
    expect(await accounts.connectionFor('alice', { ...gcpTarget, accountId: azure.id })).toBeUndefined();
    expect(await accounts.connectionFor('alice', { cloud: 'aws', region: 'eu-west-1', accountId: gcp.id })).toBeUndefined();
    expect(await accounts.connectionFor('bob', gcpTarget)).toBeUndefined();
  });
});

describe('DeployService on Google Cloud and Azure', () => {
  it('deploys a plan on a connected project or resource group that the plan names, with backups turned off', async () => {
    const { accounts, plans, deploys, started } = setup();
    const gcp = await accounts.connect('alice', GCP_BODY);
    const azure = await accounts.connect('alice', AZURE_BODY);
    const onGcp = await plans.create('alice', gcpPlan(gcp.id));
    const onAzure = await plans.create('alice', azurePlan(azure.id, 'ACME-prod'));

    await deploys.deploy('alice', onGcp.id);
    await deploys.deploy('alice', onAzure.id);

    expect(started.map((input) => input.planId)).toEqual([onGcp.id, onAzure.id]);
  });

  it('refuses, starting nothing, an account of another cloud, of another project or group, or none', async () => {
    const { accounts, plans, deploys, started, deployments } = setup();
    const gcp = await accounts.connect('alice', GCP_BODY);
    const azure = await accounts.connect('alice', AZURE_BODY);
    const aws = await accounts.connect('alice', { roleArn: ROLE_ARN });

    const cases = [
      [gcpPlan(azure.id), `account ${azure.id} connects Azure, and the plan deploys to Google Cloud`],
      [
        gcpPlan(gcp.id, { project: 'acme-staging-1' }),
        `account ${gcp.id} connects project acme-prod-4821, and the plan names project acme-staging-1`,
      ],
      [azurePlan(azure.id, 'other'), `account ${azure.id} connects resource group acme-prod of subscription ${AZURE_BODY.subscriptionId}`],
      [awsPlan(gcp.id), `account ${gcp.id} connects Google Cloud, and the plan deploys to AWS`],
      [gcpPlan(), 'no connected account: a plan on Google Cloud names one of your connected Google Cloud accounts'],
      [azurePlan(aws.id), `account ${aws.id} connects AWS, and the plan deploys to Azure`],
    ] as const;
    for (const [spec, message] of cases) {
      const plan = await plans.create('alice', spec);
      const errors = await problemsOf(deploys.deploy('alice', plan.id));
      expect(errors).toEqual([{ path: '/target/accountId', message: expect.stringContaining(message) as unknown }]);
    }
    expect(started).toEqual([]);
    expect(deployments.records).toEqual([]);
  });

  it('refuses apps there with the field to change, beside a missing account, and starts nothing; backups deploy there', async () => {
    const { accounts, plans, deploys, started } = setup();
    const gcp = await accounts.connect('alice', GCP_BODY);
    const withApp = await plans.create('alice', gcpPlan(gcp.id, { backups: true, app: true }));
    const nothingRight = await plans.create('alice', gcpPlan(undefined, { backups: true, app: true }));

    expect(await problemsOf(deploys.deploy('alice', withApp.id))).toEqual([
      { path: '/components/1', message: 'apps on Google Cloud are not available yet: deploy this app with a plan on AWS' },
    ]);
    expect((await problemsOf(deploys.deploy('alice', nothingRight.id))).map((problem) => problem.path)).toEqual([
      '/target/accountId',
      '/components/1',
    ]);
    expect(started).toEqual([]);

    const withBackups = await plans.create('alice', gcpPlan(gcp.id, { backups: true }));
    await deploys.deploy('alice', withBackups.id);
    expect(started.map((input) => input.planId)).toEqual([withBackups.id]);
  });
});

afterEach(() => {
  stsMock.reset();
  s3Mock.reset();
});
