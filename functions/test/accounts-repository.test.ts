import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Conflict, NotFound } from '@cloudseed/shared';
import type { AccountRecord } from '@cloudseed/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '../../infra/local/aws.ts';
import { ensureTables, startDynamo } from '../../infra/local/dynamo.ts';
import type { Dynamo } from '../../infra/local/dynamo.ts';
import { DynamoAccountRepository } from '../lib/accounts-repository.ts';
import { accountsTable } from '../lib/tables.ts';

/** dynalite checks no credentials; the SDK only needs some to sign with. */
const DYNALITE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

// The accounts table over a real dynalite: AWS roles, Google Cloud projects and Azure resource
// groups side by side in one owner's partition, each unique by what it connects, and the items
// stored before other clouds could be connected read back as the AWS accounts they are.

let home: string;
let dynamo: Dynamo;
let client: DynamoDBDocumentClient;
let table: string;
let repository: DynamoAccountRepository;

const base = (id: number) => ({
  ownerId: 'alice',
  id: `00000000-0000-4000-8000-00000000000${id}`,
  region: 'europe-west4',
  createdAt: '2026-12-06T00:00:00.000Z',
  verifiedAt: '2026-12-06T00:00:00.000Z',
});

const aws: AccountRecord = {
  ...base(1),
  cloud: 'aws',
  name: 'AWS 123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/CloudSeedDeployer',
  awsAccountId: '123456789012',
};
const gcp: AccountRecord = {
  ...base(2),
  cloud: 'gcp',
  name: 'Google Cloud acme-prod-4821',
  projectId: 'acme-prod-4821',
  projectNumber: '482113570042',
};
const azure: AccountRecord = {
  ...base(3),
  cloud: 'azure',
  name: 'Azure Acme-Prod',
  tenantId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  subscriptionId: '6f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
  resourceGroup: 'Acme-Prod',
};

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cloudseed-accounts-repository-'));
  dynamo = await startDynamo(home);
  const env = await ensureTables(dynamo.endpoint, [accountsTable]);
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: DYNALITE_CREDENTIALS }));
  table = env[accountsTable.env] ?? '';
  repository = new DynamoAccountRepository(client, table);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('DynamoAccountRepository', () => {
  it('stores an AWS role, a Google Cloud project and an Azure group beside the ExternalId, and lists only the accounts', async () => {
    await repository.claimExternalId('alice', 'x'.repeat(32));
    for (const record of [aws, gcp, azure]) await repository.create(record);

    const listed = await repository.list('alice');

    expect(listed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([aws, gcp, azure]);
    expect(await repository.get('alice', gcp.id)).toEqual(gcp);
    expect(await repository.getExternalId('alice')).toBe('x'.repeat(32));
  });

  it('refuses on the write itself the same project, or the same group in another case, under a new id', async () => {
    await expect(repository.create({ ...gcp, id: '00000000-0000-4000-8000-000000000009' })).rejects.toThrow(
      new Conflict('This Google Cloud project is connected already.'),
    );
    await expect(repository.create({ ...azure, id: '00000000-0000-4000-8000-000000000009', resourceGroup: 'acme-prod' })).rejects.toThrow(
      new Conflict('This resource group is connected already.'),
    );
    expect(await repository.list('alice')).toHaveLength(3);
  });

  it('reads an account stored without a cloud as AWS', async () => {
    const { cloud: _cloud, ...stored } = { ...aws, ownerId: 'bob' };
    await client.send(new PutCommand({ TableName: table, Item: { ...stored, accountKey: `role#${aws.roleArn.toLowerCase()}` } }));

    expect(await repository.list('bob')).toEqual([{ ...aws, ownerId: 'bob' }]);
  });

  it('deletes each kind by id, and answers NotFound for one that is gone', async () => {
    await repository.delete('alice', azure.id);
    await repository.delete('alice', gcp.id);

    expect((await repository.list('alice')).map((record) => record.id)).toEqual([aws.id]);
    await expect(repository.delete('alice', gcp.id)).rejects.toBeInstanceOf(NotFound);
  });
});
