// DynamoDB table definitions shared by the CDK Data construct and the local cloud's bootstrap.
// Keys only: DynamoDB is schemaless beyond them.

export interface TableDefinition {
  /** Logical name; the environment variable `<ENV>` carries the physical name to the functions. */
  readonly logicalName: string;
  readonly env: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export const plansTable: TableDefinition = { logicalName: 'plans', env: 'PLANS_TABLE', partitionKey: 'ownerId', sortKey: 'planId' };

export const deploymentsTable: TableDefinition = { logicalName: 'deployments', env: 'DEPLOYMENTS_TABLE', partitionKey: 'ownerId', sortKey: 'planId' };

export const backupsTable: TableDefinition = { logicalName: 'backups', env: 'BACKUPS_TABLE', partitionKey: 'ownerId', sortKey: 'backupKey' };

export const accountsTable: TableDefinition = { logicalName: 'accounts', env: 'ACCOUNTS_TABLE', partitionKey: 'ownerId', sortKey: 'accountKey' };

export const alertsTable: TableDefinition = { logicalName: 'alerts', env: 'ALERTS_TABLE', partitionKey: 'ownerId', sortKey: 'alertKey' };

export const tables: readonly TableDefinition[] = [plansTable, deploymentsTable, backupsTable, accountsTable, alertsTable];
