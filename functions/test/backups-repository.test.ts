import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BackupRecord } from '@cloudseed/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '../../infra/local/aws.ts';
import { ensureTables, startDynamo } from '../../infra/local/dynamo.ts';
import type { Dynamo } from '../../infra/local/dynamo.ts';
import { DynamoBackupRepository } from '../lib/backups-repository.ts';
import { backupsTable } from '../lib/tables.ts';

/** dynalite checks no credentials; the SDK only needs some to sign with. */
const DYNALITE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

// The backups table over a real dynalite: retention reads a plan's backups through listAll, which
// must reach past the first page (a Query stops at its Limit or at 1 MB) to the oldest records.

let home: string;
let dynamo: Dynamo;
let client: DynamoDBDocumentClient;
let repository: DynamoBackupRepository;

const record = (planId: string, day: number): BackupRecord => ({
  ownerId: 'alice',
  planId,
  backupId: `203001${String(day).padStart(2, '0')}T030000Z-0000000${day % 10}`,
  componentId: 'db',
  trigger: 'schedule',
  status: 'succeeded',
  startedAt: `2030-01-${String(day).padStart(2, '0')}T03:00:00.000Z`,
  location: { bucket: 'b', key: `plans/${planId}/db/${day}.dump` },
  validation: { status: 'passed' },
});

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cloudseed-backups-repository-'));
  dynamo = await startDynamo(home);
  const env = await ensureTables(dynamo.endpoint, [backupsTable]);
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: DYNALITE_CREDENTIALS }));
  repository = new DynamoBackupRepository(client, env[backupsTable.env] ?? '');
  for (let day = 1; day <= 7; day++) await repository.create(record('plan-a', day));
  // Another plan of the same owner sorts right after plan-a's records: it must not leak in.
  await repository.create(record('plan-b', 1));
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('DynamoBackupRepository.listAll', () => {
  it('pages through every backup of the plan, newest first, when they span more pages than one', async () => {
    const all = await repository.listAll('alice', 'plan-a', 3);

    expect(all.map((backup) => backup.startedAt.slice(0, 10))).toEqual([
      '2030-01-07',
      '2030-01-06',
      '2030-01-05',
      '2030-01-04',
      '2030-01-03',
      '2030-01-02',
      '2030-01-01',
    ]);
    expect(all.every((backup) => backup.planId === 'plan-a' && !('backupKey' in backup))).toBe(true);
  });

  it('reads one page of the same size only partly, which is why retention no longer uses list', async () => {
    expect(await repository.list('alice', 'plan-a', 3)).toHaveLength(3);
  });

  it('finds nothing for another owner', async () => {
    expect(await repository.listAll('bob', 'plan-a', 3)).toEqual([]);
  });
});
