import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from './dynamo-pages.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import type { AccountRecord, AccountRepository } from '@cloudseed/shared';

// The accounts table: partition key ownerId (Cognito sub), sort key accountKey. Per owner:
//   `#external-id`      the owner's ExternalId, written once (conditional put) and never changed;
//   `role#<role ARN>`   one connected account, keyed by its role (lower case, as IAM compares role
//                       names), so that connecting the same role twice fails on the write itself.
// An owner has at most 21 items, so finding an account by id is one Query of the partition.

const EXTERNAL_ID_KEY = '#external-id';
const ROLE_PREFIX = 'role#';

const roleKey = (roleArn: string) => `${ROLE_PREFIX}${roleArn.toLowerCase()}`;

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
      KeyConditionExpression: 'ownerId = :ownerId AND begins_with(accountKey, :prefix)',
      ExpressionAttributeValues: { ':ownerId': ownerId, ':prefix': ROLE_PREFIX },
      ConsistentRead: true,
    });
    return items.map(fromItem);
  }

  async get(ownerId: string, id: string): Promise<AccountRecord | undefined> {
    return (await this.list(ownerId)).find((record) => record.id === id);
  }

  async create(record: AccountRecord): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...record, accountKey: roleKey(record.roleArn) },
          ConditionExpression: 'attribute_not_exists(accountKey)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Conflict('This role is connected already.');
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
          Key: { ownerId, accountKey: roleKey(record.roleArn) },
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
  return record as unknown as AccountRecord;
}
