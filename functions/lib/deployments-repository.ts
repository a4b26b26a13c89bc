import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll, scanAll } from './dynamo-pages.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Conflict } from '@cloudseed/shared/errors';
import type { DeploymentRecord, DeploymentRepository, DeploymentStatus, Failure, Plan } from '@cloudseed/shared';

// The deployments table: one item per plan (ownerId, planId). The item is the lock: a deployment
// starts with a conditional put that fails while another one is deploying or deleting, and every
// later write names the deployment that holds it. Single-item conditions only (no transactions).

/** What the running-nodes limit counts a deployment from. */
export type DeployedComponents = Pick<DeploymentRecord, 'planId' | 'status' | 'components'> & { readonly spec: Pick<Plan, 'components'> };

export class DynamoDeploymentRepository implements DeploymentRepository {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async get(ownerId: string, planId: string): Promise<DeploymentRecord | undefined> {
    const { Item } = await this.#client.send(new GetCommand({ TableName: this.#table, Key: { ownerId, planId }, ConsistentRead: true }));
    return Item as DeploymentRecord | undefined;
  }

  async listByOwner(ownerId: string): Promise<DeploymentRecord[]> {
    return queryAll<DeploymentRecord>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId',
      ExpressionAttributeValues: { ':ownerId': ownerId },
      ProjectionExpression: 'ownerId, planId, #status, failure, degraded, backupFailure, deploymentId, #spec.#target',
      ExpressionAttributeNames: { '#status': 'status', '#spec': 'spec', '#target': 'target' },
    });
  }

  /** Each of the owner's deployments with the components it was deployed with: what its nodes are counted from. */
  async listDeployedComponents(ownerId: string): Promise<DeployedComponents[]> {
    return queryAll<DeployedComponents>(this.#client, {
      TableName: this.#table,
      KeyConditionExpression: 'ownerId = :ownerId',
      ExpressionAttributeValues: { ':ownerId': ownerId },
      ProjectionExpression: 'planId, #status, components, #spec.components',
      ExpressionAttributeNames: { '#status': 'status', '#spec': 'spec' },
      ConsistentRead: true,
    });
  }

  async listByStatus(statuses: readonly DeploymentStatus[]): Promise<DeploymentRecord[]> {
    const values = Object.fromEntries(statuses.map((status, index) => [`:s${index}`, status]));
    return scanAll<DeploymentRecord>(this.#client, {
      TableName: this.#table,
      FilterExpression: `#status IN (${Object.keys(values).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    });
  }

  async start(record: DeploymentRecord, expectedRevision: number | undefined): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: record,
          ...(expectedRevision === undefined
            ? { ConditionExpression: 'attribute_not_exists(planId)' }
            : {
                ConditionExpression: 'revision = :revision AND #status <> :deploying AND #status <> :deleting AND attribute_not_exists(backupLock)',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':revision': expectedRevision, ':deploying': 'deploying', ':deleting': 'deleting' },
              }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new Conflict('Another deployment or a backup of this plan is in progress; wait for it to finish.');
      throw error;
    }
  }

  async update(
    ownerId: string,
    planId: string,
    deploymentId: string,
    changes: Partial<Omit<DeploymentRecord, 'ownerId' | 'planId' | 'deploymentId' | 'revision'>>,
    remove: readonly (keyof DeploymentRecord)[] = [],
  ): Promise<DeploymentRecord> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    const names: Record<string, string> = { '#deploymentId': 'deploymentId', '#revision': 'revision' };
    const values: Record<string, unknown> = { ':deploymentId': deploymentId, ':one': 1 };
    const sets = entries.map(([key, value], index) => {
      names[`#f${index}`] = key;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    sets.push('#revision = #revision + :one');
    const removals = remove.map((key, index) => {
      names[`#r${index}`] = key;
      return `#r${index}`;
    });
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { ownerId, planId },
          UpdateExpression: `SET ${sets.join(', ')}${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
          ConditionExpression: '#deploymentId = :deploymentId',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as DeploymentRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Conflict(`Deployment ${deploymentId} no longer holds plan ${planId}.`);
      throw error;
    }
  }

  async delete(ownerId: string, planId: string, deploymentId: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { ownerId, planId },
          ConditionExpression: 'attribute_not_exists(planId) OR deploymentId = :deploymentId',
          ExpressionAttributeValues: { ':deploymentId': deploymentId },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new Conflict(`Deployment ${deploymentId} no longer holds plan ${planId}.`);
      throw error;
    }
  }

  async claimBackup(ownerId: string, planId: string, backupId: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { ownerId, planId },
          UpdateExpression: 'SET backupLock = :backupId',
          ConditionExpression: 'attribute_exists(planId) AND #status = :running AND attribute_not_exists(backupLock)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':backupId': backupId, ':running': 'running' },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new Conflict('A backup of this plan is already running, or the plan is not running.');
      throw error;
    }
  }

  async releaseBackup(ownerId: string, planId: string, backupId: string, failure: Failure | undefined): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { ownerId, planId },
          UpdateExpression: failure ? 'SET backupFailure = :failure REMOVE backupLock' : 'REMOVE backupLock, backupFailure',
          ConditionExpression: 'backupLock = :backupId',
          ExpressionAttributeValues: { ':backupId': backupId, ...(failure ? { ':failure': failure } : {}) },
        }),
      );
    } catch (error) {
      // The plan was deleted (or the lock cleared) meanwhile: nothing left to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
