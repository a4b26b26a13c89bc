import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { tables } from '@cloudseed/functions/lib/tables';
import type { TableDefinition } from '@cloudseed/functions/lib/tables';
import type { ConfigurableFunction } from './function.ts';

// The DynamoDB tables of functions/lib/tables.ts (the local cloud creates the same ones):
// on demand, point-in-time recovery, encrypted, and kept with deletion protection in prod.

export interface DataProps {
  readonly retain: boolean;
}

/** A table and the environment variable that names it: a grant sets both. */
export class CloudSeedTable extends Construct {
  readonly table: dynamodb.Table;
  readonly definition: TableDefinition;

  constructor(scope: Construct, id: string, definition: TableDefinition, props: DataProps) {
    super(scope, id);
    this.definition = definition;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
      ...(definition.sortKey ? { sortKey: { name: definition.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.retain,
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }

  grantReadTo(fn: ConfigurableFunction): void {
    fn.addEnvironment(this.definition.env, this.table.tableName);
    this.table.grantReadData(fn);
  }

  grantReadWriteTo(fn: ConfigurableFunction): void {
    fn.addEnvironment(this.definition.env, this.table.tableName);
    this.table.grantReadWriteData(fn);
  }
}

export class Data extends Construct {
  readonly plans: CloudSeedTable;
  readonly deployments: CloudSeedTable;
  readonly accounts: CloudSeedTable;
  readonly backups: CloudSeedTable;
  readonly alerts: CloudSeedTable;
  readonly all: readonly CloudSeedTable[];

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const byName = new Map(
      tables.map((definition) => [definition.logicalName, new CloudSeedTable(this, pascal(definition.logicalName), definition, props)]),
    );
    this.all = [...byName.values()];
    this.plans = required(byName, 'plans');
    this.deployments = required(byName, 'deployments');
    this.accounts = required(byName, 'accounts');
    this.backups = required(byName, 'backups');
    this.alerts = required(byName, 'alerts');
  }

  /** Every table, read and write: the workflow steps work on plans and deployments alike. */
  grantReadWriteTo(fn: ConfigurableFunction): void {
    for (const table of this.all) table.grantReadWriteTo(fn);
  }

  /** Every table's name, read only. The function modules name all tables at load, so even a reader gets each variable. */
  grantReadTo(fn: ConfigurableFunction): void {
    for (const table of this.all) table.grantReadTo(fn);
  }
}

function required(byName: ReadonlyMap<string, CloudSeedTable>, name: string): CloudSeedTable {
  const table = byName.get(name);
  if (!table) throw new Error(`functions/lib/tables.ts defines no ${name} table`);
  return table;
}

function pascal(name: string): string {
  return name.replace(/(^|[-_ ])(\w)/g, (_match, _separator: string, letter: string) => letter.toUpperCase());
}
