import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { validatePlan } from '@cloudseed/shared';
import type { BackupRecord } from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTables, startDynamo } from '../../infra/local/dynamo.ts';
import type { Dynamo } from '../../infra/local/dynamo.ts';
import type * as BackupsModule from '../lib/backups.ts';
import type * as RetentionModule from '../steps/backup-retention.ts';
import { tables } from '../lib/tables.ts';

// The ApplyRetention step over a real dynalite backups table holding more records than one Query
// returns (a page stops at 1 MB): every expired backup goes, objects first, however old, and the
// newest good one stays. Only S3 (the local provider's object deletes) is mocked.

const s3Mock = mockClient(S3Client);

const OWNER = 'alice';
const PLAN = '11111111-2222-4333-8444-555555555555';
/** Each record carries 120 table fingerprints (~8 KB): 200 of them are more than one 1 MB page. */
const RECORDS = 200;
const FINGERPRINTS = Array.from({ length: 120 }, (_, index) => ({
  table: `public.table_${String(index).padStart(3, '0')}_with_a_long_name`,
  rows: 1000 + index,
  checksum: 'f'.repeat(32),
}));

let home: string;
let dynamo: Dynamo;
let retention: typeof RetentionModule;
let backups: typeof BackupsModule.backups;

function record(index: number): BackupRecord {
  // One a day, oldest first, ending ten days ago: all past a 7-day retention.
  const startedAt = new Date(Date.UTC(2020, 0, 1) + index * 86_400_000);
  const backupId = `${startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${index.toString(16).padStart(8, '0')}`;
  return {
    ownerId: OWNER,
    planId: PLAN,
    backupId,
    componentId: 'db',
    trigger: 'schedule',
    status: 'succeeded',
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    location: { bucket: 'cloudseed-backups', key: `plans/${PLAN}/db/${backupId}.dump` },
    sizeBytes: 1000,
    sha256: 'a'.repeat(64),
    tables: FINGERPRINTS,
    validation: { status: 'passed' },
  };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cloudseed-retention-'));
  dynamo = await startDynamo(home);
  // The modules read their environment when they load: it comes first.
  Object.assign(process.env, {
    CLOUDSEED_MODE: 'local',
    CLOUDSEED_HOME: home,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    S3_ENDPOINT: 'http://127.0.0.1:9',
    BACKUP_BUCKET: 'cloudseed-backups',
    ...(await ensureTables(dynamo.endpoint, tables)),
  });
  ({ backups } = await import('../lib/backups.ts'));
  const { deployments } = await import('../lib/plans.ts');
  retention = await import('../steps/backup-retention.ts');

  const plan = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'local' },
    components: [{ id: 'db', type: 'postgres', db: { backup: { retentionDays: 7 } } }],
  });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  await deployments.start(
    {
      ownerId: OWNER,
      planId: PLAN,
      status: 'running',
      deploymentId: 'dep-1',
      mode: 'create',
      planVersion: 1,
      spec: plan.plan,
      startedAt: new Date().toISOString(),
      revision: 1,
      components: [
        {
          id: 'db',
          databaseName: 'app',
          username: 'app',
          nodes: [{ name: 'db-1', role: 'primary', instanceId: 'local-db-1', host: '127.0.0.1', port: 5999 }],
        },
      ],
    },
    undefined,
  );
  for (let index = 0; index < RECORDS; index++) await backups.create(record(index));
}, 60_000);

afterAll(async () => {
  await dynamo?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('ApplyRetention', () => {
  it('removes every expired backup, past the first page of records, and keeps the newest good one', { timeout: 60_000 }, async () => {
    s3Mock.reset();
    s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
    s3Mock.on(DeleteObjectCommand).resolves({});
    const newest = record(RECORDS - 1);
    // What one Query page reads: fewer than all of them, which is all the step used to see.
    expect((await backups.list(OWNER, PLAN, 1000)).length).toBeLessThan(RECORDS);

    const result = await retention.handler({ ownerId: OWNER, planId: PLAN, componentId: 'db', trigger: 'schedule', backupId: newest.backupId });

    expect(result).toEqual({ removed: RECORDS - 1 });
    expect((await backups.listAll(OWNER, PLAN)).map((backup) => backup.backupId)).toEqual([newest.backupId]);
    const deleted = s3Mock.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input);
    expect(deleted).toHaveLength(2 * (RECORDS - 1));
    expect(deleted).toContainEqual({ Bucket: 'cloudseed-backups', Key: `plans/${PLAN}/db/${record(0).backupId}.dump` });
    expect(deleted).toContainEqual({ Bucket: 'cloudseed-backups', Key: `plans/${PLAN}/db/${record(0).backupId}.dump.globals.sql` });
    expect(deleted).not.toContainEqual(expect.objectContaining({ Key: newest.location.key }));
  });
});
