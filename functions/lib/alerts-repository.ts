import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_ALERT_SETTINGS } from '@cloudseed/shared/alerts/alerts';
import type { Alert, AlertSettings, Condition } from '@cloudseed/shared/alerts/alerts';
import { queryAll } from './dynamo-pages.ts';

// The alerts table: partition key ownerId, sort key under the plan:
//   <planId>#settings                    what the owner chose (absent: DEFAULT_ALERT_SETTINGS)
//   <planId>#open#<condition key>        an incident while it lasts; its key is the condition's, so
//                                        a conditional put opens each incident exactly once however
//                                        many evaluators race (the one that wins sends its message)
//   <planId>#closed#<firedAt>#<alertId>  an incident that cleared; the newest KEEP_CLOSED are kept

const KEEP_CLOSED = 50;

const settingsKey = (planId: string) => `${planId}#settings`;
const openKey = (planId: string, key: string) => `${planId}#open#${key}`;
const closedKey = (planId: string, alert: Alert) => `${planId}#closed#${alert.firedAt}#${alert.alertId}`;

export interface PlanAlerts {
  readonly open: Alert[];
  /** Newest first. */
  readonly closed: Alert[];
}

export class DynamoAlertsRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async settings(ownerId: string, planId: string): Promise<AlertSettings> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { ownerId, alertKey: settingsKey(planId) }, ConsistentRead: true }),
    );
    return (Item?.settings as AlertSettings | undefined) ?? DEFAULT_ALERT_SETTINGS;
  }

  async putSettings(ownerId: string, planId: string, settings: AlertSettings, at: string): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#table, Item: { ownerId, alertKey: settingsKey(planId), settings, updatedAt: at } }));
  }

  async list(ownerId: string, planId: string): Promise<PlanAlerts> {
    const items = await queryAll<Record<string, unknown>>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId AND begins_with(alertKey, :plan)',
      ExpressionAttributeValues: { ':ownerId': ownerId, ':plan': `${planId}#` },
      ConsistentRead: true,
    });
    const of = (kind: string) => items.filter((item) => String(item.alertKey).startsWith(`${planId}#${kind}#`)).map(strip);
    return { open: of('open'), closed: of('closed').reverse() };
  }

  /** Opens the condition's incident; undefined when it is open already (another evaluation got there first). */
  async open(ownerId: string, planId: string, condition: Condition, at: string): Promise<Alert | undefined> {
    const alert: Alert = {
      alertId: randomUUID(),
      key: condition.key,
      rule: condition.rule,
      state: 'firing',
      message: condition.message,
      firedAt: at,
      ...(condition.component === undefined ? {} : { component: condition.component }),
      ...(condition.node === undefined ? {} : { node: condition.node }),
      ...(condition.value === undefined ? {} : { value: condition.value }),
      ...(condition.threshold === undefined ? {} : { threshold: condition.threshold }),
    };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...alert, ownerId, planId, alertKey: openKey(planId, condition.key) },
          ConditionExpression: 'attribute_not_exists(alertKey)',
        }),
      );
      return alert;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Keeps an open incident's figures current (disk 85 % → 91 %); no new message. */
  async update(ownerId: string, planId: string, alert: Alert, condition: Condition): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { ownerId, alertKey: openKey(planId, alert.key) },
        UpdateExpression: condition.value === undefined ? 'SET message = :message' : 'SET message = :message, #value = :value',
        ConditionExpression: 'alertId = :alertId',
        ExpressionAttributeNames: condition.value === undefined ? undefined : { '#value': 'value' },
        ExpressionAttributeValues: {
          ':message': condition.message,
          ':alertId': alert.alertId,
          ...(condition.value === undefined ? {} : { ':value': condition.value }),
        },
      }),
    );
  }

  async markNotified(ownerId: string, planId: string, alert: Alert, to: string, at: string): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { ownerId, alertKey: openKey(planId, alert.key) },
        UpdateExpression: 'SET notified = :to, notifiedAt = :at',
        ConditionExpression: 'alertId = :alertId',
        ExpressionAttributeValues: { ':to': to, ':at': at, ':alertId': alert.alertId },
      }),
    );
  }

  /** Moves the incident to the closed ones; the oldest closed beyond KEEP_CLOSED go. */
  async close(ownerId: string, planId: string, alert: Alert, at: string, closedBefore: readonly Alert[]): Promise<void> {
    const closed: Alert = { ...alert, state: 'cleared', clearedAt: at };
    await this.#client.send(new PutCommand({ TableName: this.#table, Item: { ...closed, ownerId, planId, alertKey: closedKey(planId, closed) } }));
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { ownerId, alertKey: openKey(planId, alert.key) },
          ConditionExpression: 'alertId = :alertId',
          ExpressionAttributeValues: { ':alertId': alert.alertId },
        }),
      );
    } catch (error) {
      // Closed by another evaluation meanwhile: its record is the same incident's.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    await this.#deleteKeys(
      ownerId,
      closedBefore.slice(KEEP_CLOSED - 1).map((old) => closedKey(planId, old)),
    );
  }

  /** Everything of a deleted plan: settings and incidents. */
  async deleteAll(ownerId: string, planId: string): Promise<void> {
    const items = await queryAll<{ alertKey: string }>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId AND begins_with(alertKey, :plan)',
      ExpressionAttributeValues: { ':ownerId': ownerId, ':plan': `${planId}#` },
      ProjectionExpression: 'alertKey',
    });
    await this.#deleteKeys(
      ownerId,
      items.map((item) => item.alertKey),
    );
  }

  async #deleteKeys(ownerId: string, keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 25) {
      const batch = keys.slice(start, start + 25).map((alertKey) => ({ DeleteRequest: { Key: { ownerId, alertKey } } }));
      let pending: typeof batch | undefined = batch;
      for (let attempt = 0; pending && pending.length > 0 && attempt < 5; attempt += 1) {
        const { UnprocessedItems } = await this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: pending } }));
        pending = UnprocessedItems?.[this.#table] as typeof batch | undefined;
      }
    }
  }
}

function strip(item: Record<string, unknown>): Alert {
  const { ownerId: _owner, planId: _plan, alertKey: _key, ...alert } = item;
  return alert as unknown as Alert;
}
