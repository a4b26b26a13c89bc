import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// One usage item per owner, `#usage` in the accounts table (beside `#external-id`; the accounts
// Query reads only `role#` keys, so it never sees it). dynalite has no transactions, so every limit
// is enforced by a conditional write to this one item:
//   claims        in-flight plan creates and deploys, each a token with what it will add; a create
//                 or deploy writes its claim only while `version` is the one it counted under, so of
//                 two racing for the last slot one counts again and sees the other's claim
//   backupDay     the UTC day `backupsToday` counts on-demand backups and restores for

export interface PlanClaim {
  readonly kind: 'plan';
  readonly at: string;
}

export interface NodesClaim {
  readonly kind: 'nodes';
  readonly planId: string;
  readonly nodes: number;
  readonly at: string;
}

export type Claim = PlanClaim | NodesClaim;

export interface Usage {
  /** `undefined` until the first claim is written. */
  readonly version: number | undefined;
  readonly claims: Readonly<Record<string, Claim>>;
}

const USAGE_KEY = '#usage';

export class DynamoUsageRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async get(ownerId: string): Promise<Usage> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(ownerId), ConsistentRead: true, ProjectionExpression: 'version, claims' }),
    );
    return { version: Item?.version as number | undefined, claims: (Item?.claims ?? {}) as Record<string, Claim> };
  }

  /** Replaces the claims if nobody wrote any since `seen` was read; false when someone did. */
  async replaceClaims(ownerId: string, seen: Usage, claims: Readonly<Record<string, Claim>>): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(ownerId),
          UpdateExpression: 'SET claims = :claims, version = :next',
          ConditionExpression: seen.version === undefined ? 'attribute_not_exists(version)' : 'version = :seen',
          ExpressionAttributeValues: {
            ':claims': claims,
            ':next': (seen.version ?? 0) + 1,
            ...(seen.version === undefined ? {} : { ':seen': seen.version }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Ends a claim whose work is stored (or abandoned). Idempotent. */
  async dropClaim(ownerId: string, token: string): Promise<void> {
    await this.#client
      .send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(ownerId),
          // The version moves too: a claim written from a read taken before this would bring it back.
          UpdateExpression: 'SET version = version + :one REMOVE claims.#token',
          ConditionExpression: 'attribute_exists(claims.#token)',
          ExpressionAttributeNames: { '#token': token },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  /**
   * Counts one more on-demand backup on `day` unless `limit` were passed; returns the new count, or
   * `undefined` when `limit` had already been reached that day. A new day starts again at one.
   */
  async countBackup(ownerId: string, day: string, limit: number): Promise<number | undefined> {
    // Usually the item already counts today: one conditional increment.
    const counted = await this.#countIf(ownerId, 'SET backupsToday = backupsToday + :one', 'backupDay = :day AND backupsToday < :limit', {
      ':day': day,
      ':limit': limit,
    });
    if (counted !== undefined) return counted;
    // The first of a new day: start at one, unless another request just did.
    const started = await this.#countIf(
      ownerId,
      'SET backupDay = :day, backupsToday = :one',
      'attribute_not_exists(backupDay) OR backupDay <> :day',
      { ':day': day },
    );
    if (started !== undefined) return started;
    // Another request started the day between the two writes: count on it once more.
    return this.#countIf(ownerId, 'SET backupsToday = backupsToday + :one', 'backupDay = :day AND backupsToday < :limit', {
      ':day': day,
      ':limit': limit,
    });
  }

  /** Gives back a count taken on `day` for a backup or restore that did not start. */
  async uncountBackup(ownerId: string, day: string): Promise<void> {
    await this.#countIf(ownerId, 'SET backupsToday = backupsToday - :one', 'backupDay = :day AND backupsToday > :zero', { ':day': day, ':zero': 0 });
  }

  async #countIf(ownerId: string, update: string, condition: string, values: Record<string, unknown>): Promise<number | undefined> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(ownerId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: { ':one': 1, ...values },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Attributes?.backupsToday as number;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  #key(ownerId: string) {
    return { ownerId, accountKey: USAGE_KEY };
  }
}
