import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from './dynamo-pages.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import type { AccountRecord, AccountRepository } from '@cloudseed/shared';

// The accounts table: partition key ownerId (Cognito sub), sort key accountKey. Per owner:
//   `#external-id`      the owner's ExternalId, written once (conditional put) and never changed;
//   `role#<role ARN>`   a connected AWS account, keyed by its role (lower case, as IAM compares
//                       role names), so that connecting the same role twice fails on the write itself;
//   `gcp#<project id>`  a connected Google Cloud project, likewise;
//   `azure#<subscription id>/<resource group>` a connected Azure resource group (lower case, as
//                       Azure compares group names).
// Items written before Google Cloud and Azure could be connected carry no `cloud`: they are AWS.
// An owner has at most 21 items, so finding an account by id is one Query of the partition.

const EXTERNAL_ID_KEY = '#external-id';
const ACCOUNT_PREFIXES = ['role#', 'gcp#', 'azure#'];

function accountKey(record: AccountRecord): string {
  switch (record.cloud) {
    case 'aws':
      return `role#${record.roleArn.toLowerCase()}`;
    case 'gcp':
      return `gcp#${record.projectId}`;
    case 'azure':
      return `azure#${record.subscriptionId}/${record.resourceGroup.toLowerCase()}`;
  }
}

const CONNECTED_ALREADY: Readonly<Record<AccountRecord['cloud'], string>> = {
  aws: 'This role is connected already.',
  gcp: 'This Google Cloud project is connected already.',
  azure: 'This resource group is connected already.',
};

export class DynamoAccountRepository implements AccountRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async getExternalId(ownerId: string): Promise<string | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { ownerId, accountKey: EXTERNAL_ID_KEY }, ConsistentRead: true }),
    );
    return Item?.externalId as string | undefined;
  }

  async claimExternalId(ownerId: string, externalId: string): Promise<string> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ownerId, accountKey: EXTERNAL_ID_KEY, externalId, createdAt: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(accountKey)',
        }),
      );
      return externalId;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Another request issued it first: that one is the owner's, for good.
      const stored = await this.getExternalId(ownerId);
      if (stored === undefined) throw new Error('the ExternalId item exists but holds no ExternalId', { cause: error });
      return stored;
    }
  }

  async list(ownerId: string): Promise<AccountRecord[]> {
    const items = await queryAll<Record<string, unknown>>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId',
      ExpressionAttributeValues: { ':ownerId': ownerId },
      ConsistentRead: true,
    });
    return items.filter((item) => ACCOUNT_PREFIXES.some((prefix) => String(item.accountKey).startsWith(prefix))).map(fromItem);
  }

  async get(ownerId: string, id: string): Promise<AccountRecord | undefined> {
    return (await this.list(ownerId)).find((record) => record.id === id);
  }

  async create(record: AccountRecord): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...record, accountKey: accountKey(record) },
          ConditionExpression: 'attribute_not_exists(accountKey)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Conflict(CONNECTED_ALREADY[record.cloud]);
      throw error;
    }
  }

  async delete(ownerId: string, id: string): Promise<void> {
    const record = await this.get(ownerId, id);
    if (!record) throw new NotFound(`There is no account ${id}.`);
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { ownerId, accountKey: accountKey(record) },
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': id },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new NotFound(`There is no account ${id}.`);
      throw error;
    }
  }
}

function fromItem(item: Record<string, unknown>): AccountRecord {
  const { accountKey: _key, ...record } = item;
  return { cloud: 'aws', ...record } as unknown as AccountRecord;
}
