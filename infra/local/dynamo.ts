import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { AttributeDefinition, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import type { TableDefinition } from '@cloudseed/functions/lib/tables';
import dynalite from 'dynalite';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_REGION } from './aws.ts';
import type { LocalCredentials } from './aws.ts';
import { browserRefusal, refuse } from './browser-guard.ts';
import { closeServer, listen, LOOPBACK, origin } from './ports.ts';

export interface Dynamo {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * dynalite in this process, its LevelDB under `CLOUDSEED_HOME/dynamodb`, on a free loopback port.
 *
 * dynalite checks that a request is signed but never checks the signature or the access key: any
 * credentials work. What keeps others out is that it listens on loopback only and refuses web
 * pages (it would otherwise answer every origin with `Access-Control-Allow-Origin: *`).
 */
export async function startDynamo(home: string): Promise<Dynamo> {
  const path = join(home, 'dynamodb');
  await mkdir(path, { recursive: true, mode: 0o700 });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const handlers = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const refusal = browserRefusal(request.headers);
    if (refusal !== undefined) refuse(response, refusal);
    else for (const handler of handlers) handler.call(server, request, response);
  });
  const port = await listen(server, 0, LOOPBACK);
  return { endpoint: origin(LOOPBACK, port), close: () => closeServer(server) };
}

const ANY_CREDENTIALS: LocalCredentials = { accessKeyId: 'dynalite', secretAccessKey: 'dynalite does not check signatures' };

export const physicalTableName = (table: TableDefinition) => `cloudseed-${table.logicalName}`;

/**
 * Creates the tables that do not exist yet and waits until every one is ACTIVE.
 * Returns the environment the functions read: `<table.env>` → physical name.
 * The local cloud signs with its own credentials; a test's own dynalite takes any (see startDynamo).
 */
export async function ensureTables(
  endpoint: string,
  definitions: readonly TableDefinition[],
  credentials: LocalCredentials = ANY_CREDENTIALS,
): Promise<Record<string, string>> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials });
  try {
    const environment: Record<string, string> = {};
    for (const table of definitions) {
      const name = physicalTableName(table);
      if ((await tableStatus(client, name)) === undefined) await client.send(createTable(name, table));
      await waitUntilActive(client, name);
      environment[table.env] = name;
    }
    return environment;
  } finally {
    client.destroy();
  }
}

function createTable(name: string, table: TableDefinition): CreateTableCommand {
  const keys: KeySchemaElement[] = [{ AttributeName: table.partitionKey, KeyType: 'HASH' }];
  const attributes: AttributeDefinition[] = [{ AttributeName: table.partitionKey, AttributeType: 'S' }];
  if (table.sortKey !== undefined) {
    keys.push({ AttributeName: table.sortKey, KeyType: 'RANGE' });
    attributes.push({ AttributeName: table.sortKey, AttributeType: 'S' });
  }
  return new CreateTableCommand({ TableName: name, KeySchema: keys, AttributeDefinitions: attributes, BillingMode: 'PAY_PER_REQUEST' });
}

async function tableStatus(client: DynamoDBClient, name: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await tableStatus(client, name);
    if (status === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${name} is still ${status ?? 'missing'} after ${timeoutMs} ms`);
    await sleep(25);
  }
}
