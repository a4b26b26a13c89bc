import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFound, PreconditionFailed } from '@cloudseed/shared/errors';
import type { PlanPage, PlanRecord, PlanRepository } from '@cloudseed/shared';

// The plans table: partition key ownerId (Cognito sub), sort key planId. Every access names the
// owner, so no query can reach another customer's plans. Writes are single-item and conditional.

export class DynamoPlanRepository implements PlanRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async create(record: PlanRecord): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#table, Item: toItem(record), ConditionExpression: 'attribute_not_exists(planId)' }));
  }

  async get(ownerId: string, id: string): Promise<PlanRecord | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: { ownerId, planId: id }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  async list(ownerId: string, options: { limit: number; afterId?: string }): Promise<PlanPage> {
    const { Items = [], LastEvaluatedKey } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'ownerId = :ownerId',
        ExpressionAttributeValues: { ':ownerId': ownerId },
        Limit: options.limit,
        ...(options.afterId ? { ExclusiveStartKey: { ownerId, planId: options.afterId } } : {}),
      }),
    );
    const lastId = LastEvaluatedKey?.planId as string | undefined;
    return { items: Items.map(fromItem), ...(lastId ? { lastId } : {}) };
  }

  /**
   * How many plans the owner has, counted up to `atMost` (a limit only needs to know whether it is
   * reached, and the count then costs what the limit allows, however many plans there are): COUNT
   * Queries, paged, each evaluating at most what is still missing.
   */
  async count(ownerId: string, atMost = Number.POSITIVE_INFINITY): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'ownerId = :ownerId',
          ExpressionAttributeValues: { ':ownerId': ownerId },
          Select: 'COUNT',
          ConsistentRead: true,
          ...(Number.isFinite(atMost) ? { Limit: atMost - total } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      total += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey && total < atMost);
    return total;
  }

  async replace(record: PlanRecord, expectedVersion: number): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: toItem(record),
          ConditionExpression: 'attribute_exists(planId) AND version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.#whyConditionFailed(record.ownerId, record.id);
      throw error;
    }
  }

  async delete(ownerId: string, id: string, expectedVersion?: number): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { ownerId, planId: id },
          ConditionExpression: expectedVersion === undefined ? 'attribute_exists(planId)' : 'attribute_exists(planId) AND version = :expected',
          ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.#whyConditionFailed(ownerId, id);
      throw error;
    }
  }

  async #whyConditionFailed(ownerId: string, id: string): Promise<Error> {
    return (await this.get(ownerId, id))
      ? new PreconditionFailed('The plan was changed by another request at the same time; read it again and reapply your change.')
      : new NotFound(`There is no plan ${id}.`);
  }
}

function toItem(record: PlanRecord): Record<string, unknown> {
  const { id, ...rest } = record;
  return { ...rest, planId: id };
}

function fromItem(item: Record<string, unknown>): PlanRecord {
  const { planId, ...rest } = item;
  return { ...(rest as Omit<PlanRecord, 'id'>), id: planId as string };
}
