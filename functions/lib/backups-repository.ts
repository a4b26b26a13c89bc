import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from './dynamo-pages.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BackupRecord, BackupRepository } from '@cloudseed/shared';

// The backups table: partition key ownerId, sort key `<planId>#<backupId>`. Backup ids sort by
// time, so a plan's backups are one Query, newest first.

const keyOf = (ownerId: string, planId: string, backupId: string) => ({ ownerId, backupKey: `${planId}#${backupId}` });

export class DynamoBackupRepository implements BackupRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async create(record: BackupRecord): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...record, ...keyOf(record.ownerId, record.planId, record.backupId) },
        ConditionExpression: 'attribute_not_exists(backupKey)',
      }),
    );
  }

  async get(ownerId: string, planId: string, backupId: string): Promise<BackupRecord | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: keyOf(ownerId, planId, backupId), ConsistentRead: true }));
    return Item ? strip(Item) : undefined;
  }

  async list(ownerId: string, planId: string, limit = 50): Promise<BackupRecord[]> {
    const { Items = [] } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'ownerId = :ownerId AND begins_with(backupKey, :plan)',
        ExpressionAttributeValues: { ':ownerId': ownerId, ':plan': `${planId}#` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.map(strip);
  }

  /**
   * Every backup of a plan, newest first, read page by page: one Query stops at its Limit or at
   * 1 MB, and retention must see the oldest records, which come last.
   */
  async listAll(ownerId: string, planId: string, pageSize = 500): Promise<BackupRecord[]> {
    const items = await queryAll<Record<string, unknown>>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId AND begins_with(backupKey, :plan)',
      ExpressionAttributeValues: { ':ownerId': ownerId, ':plan': `${planId}#` },
      ScanIndexForward: false,
      Limit: pageSize,
    });
    return items.map(strip);
  }

  async update(
    ownerId: string,
    planId: string,
    backupId: string,
    changes: Partial<Omit<BackupRecord, 'ownerId' | 'planId' | 'backupId'>>,
  ): Promise<void> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: keyOf(ownerId, planId, backupId),
        UpdateExpression: `SET ${entries.map((_, index) => `#f${index} = :v${index}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(backupKey)',
        ExpressionAttributeNames: Object.fromEntries(entries.map(([key], index) => [`#f${index}`, key])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], index) => [`:v${index}`, value])),
      }),
    );
  }

  async delete(ownerId: string, planId: string, backupId: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#table, Key: keyOf(ownerId, planId, backupId) }));
  }
}

function strip(item: Record<string, unknown>): BackupRecord {
  const { backupKey: _key, ...record } = item;
  return record as unknown as BackupRecord;
}
