import { GetCommandInvocationCommand, InvocationDoesNotExist, SendCommandCommand, SSMServiceException } from '@aws-sdk/client-ssm';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { AwsProvider } from '../../providers/aws/index.ts';
import { PermanentError, TransientError } from '../../providers/errors.ts';
import { backupScript, restoreScript, validateScript } from '../../providers/node-backups/backup-scripts.ts';
import type { BackupLocation, BackupResult, TableFingerprint } from '../../providers/provider.ts';
import {
  ACCOUNT,
  AWS_ACTIONS_PROVEN,
  BACKUP_REGION,
  decodedScript,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  node,
  provider,
  s3Mock,
  sentActions,
  sleep,
  ssmMock,
  target,
  time,
} from '../support/aws.ts';

mockAws();

describe('backups', () => {
  const primary = node('db-0', 'primary', 'i-0000000000000000a');
  // The bucket the customer template created in the account, in the region it was launched in.
  const BUCKET = `cloudseed-backups-123456789012-${BACKUP_REGION}`;
  const KEY = 'plans/p-1/db/bk-1.dump';
  const location: BackupLocation = { bucket: BUCKET, key: KEY };
  const SHA = 'c'.repeat(64);
  const tables: TableFingerprint[] = [
    { table: 'public.orders', rows: 3, checksum: '0123456789abcdef0123456789abcdef' },
    { table: 'public.empty', rows: 0, checksum: '' },
  ];
  const recorded: BackupResult = { sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables };
  const scriptInput = {
    bucket: BUCKET,
    key: KEY,
    cloud: 'aws' as const,
    cloudValues: { REGION: BACKUP_REGION },
    database: 'app',
    owner: 'app',
    port: 5432,
    binDir: '/usr/bin',
  };
  const allKeys = [KEY, `${KEY}.globals.sql`, `${KEY}.manifest.json`, `${KEY}.validation.json`].map((Key) => ({ Key }));
  const deleteAll = { Bucket: BUCKET, Delete: { Objects: allKeys, Quiet: true } };

  function expectedCommands(label: string, script: string): string[] {
    const encoded = Buffer.from(script).toString('base64');
    return [
      'set -e',
      'umask 077',
      `printf '%s' '${encoded}' | base64 -d > /root/cloudseed-${label}.sh`,
      `chmod 700 /root/cloudseed-${label}.sh`,
      `bash /root/cloudseed-${label}.sh`,
    ];
  }

  /** A GetObject answer whose body is `text`. */
  function body(text: string): GetObjectCommandOutput {
    return { $metadata: {}, Body: { transformToString: () => Promise.resolve(text) } as unknown as GetObjectCommandOutput['Body'] };
  }

  function s3Error(code: string, status: number): S3ServiceException {
    return new S3ServiceException({
      name: code,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
      message: `${code} (mocked)`,
    });
  }

  function finishes(stdout: string): void {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: '' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: stdout });
  }

  function fails(stderr: string, status: 'Failed' | 'TimedOut' = 'Failed'): void {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: status, ResponseCode: status === 'Failed' ? 1 : -1, StandardOutputContent: '', StandardErrorContent: stderr });
  }

  const backupLine = `CLOUDSEED_RESULT {"sizeBytes":4096,"sha256":"${SHA}","durationMs":812,"serverVersion":"16.4","tableCount":2}\n`;
  const manifest = JSON.stringify({ sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables });

  describe('backup', () => {
    it('runs the backup script on the primary and returns what it measured, with the fingerprints from the manifest', async () => {
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).resolves(body(manifest));

      const result = await provider().backup(target(), primary, location);

      expect(result).toEqual(recorded);
      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: { commands: expectedCommands('backup', backupScript(scriptInput)), executionTimeout: ['720'] },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db backup',
        },
      ]);
      const script = decodedScript(sent[0]!.Parameters!['commands']!);
      expect(script).toContain(`BUCKET='${BUCKET}'\nKEY='${KEY}'\nREGION='eu-west-1'\nDATABASE='app'\n`);
      expect(script).toContain('pg_dump --format=custom --snapshot="$SNAPSHOT_ID"');
      expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual(
        Array.from({ length: 3 }, () => ({ CommandId: 'cmd-backup', InstanceId: 'i-0000000000000000a' })),
      );
      expect(sleep.mock.calls).toEqual([[5000], [5000], [5000]]);
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: `${KEY}.manifest.json` }]);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    });

    it('quotes a key the shell would otherwise read as code', async () => {
      const key = "plans/p-1/db/it's $(reboot).dump";
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).resolves(body(manifest));

      await provider().backup(target(), primary, { bucket: BUCKET, key });

      const script = decodedScript(inputs(ssmMock.commandCalls(SendCommandCommand))[0]!.Parameters!['commands']!);
      expect(script).toContain(`KEY='plans/p-1/db/it'\\''s $(reboot).dump'\n`);
      expect(script).toBe(backupScript({ ...scriptInput, key }));
    });

    it('fails with the end of the script standard error and removes whatever reached S3', async () => {
      fails(
        'pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\ncloudseed backup: pg_dump failed: lock timeout\ncloudseed backup: failed; removed what it had stored\n',
      );
      s3Mock.on(DeleteObjectsCommand).resolves({});

      const error: unknown = await provider()
        .backup(target(), primary, location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermanentError);
      expect((error as Error).message).toBe(
        'backup failed on db-0 (i-0000000000000000a) (exit 1): pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\ncloudseed backup: pg_dump failed: lock timeout\ncloudseed backup: failed; removed what it had stored',
      );
      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('cleans up after SSM killed the script at its timeout, which the script cannot do itself', async () => {
      fails('', 'TimedOut');
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow('backup timed out on db-0 (i-0000000000000000a)');
      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
    });

    it.each([
      ['no result line', 'uploading...\n', /finished but printed no CLOUDSEED_RESULT line; its output began: uploading\.\.\./],
      ['a result that is not JSON', 'CLOUDSEED_RESULT {"sizeBytes":40\n', /printed a result that is not a JSON object: \{"sizeBytes":40/],
      [
        'a result without a sha256',
        'CLOUDSEED_RESULT {"sizeBytes":1,"durationMs":1,"serverVersion":"16","tableCount":0}\n',
        /has no valid sha256 \(undefined\)/,
      ],
    ])('refuses %s', async (_case, stdout, message) => {
      finishes(stdout);
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(message);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    });

    it('refuses a manifest that describes another dump than the script reported', async () => {
      finishes(backupLine);
      s3Mock
        .on(GetObjectCommand)
        .resolves(body(JSON.stringify({ sizeBytes: 4096, sha256: 'd'.repeat(64), durationMs: 1, serverVersion: '16.4', tables })));
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(/does not describe the dump/);
    });

    it('says so when the manifest is missing', async () => {
      finishes(backupLine);
      s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
      s3Mock.on(DeleteObjectsCommand).resolves({});

      await expect(provider().backup(target(), primary, location)).rejects.toThrow(
        `the backup's manifest s3://${BUCKET}/${KEY}.manifest.json does not exist`,
      );
    });

    it('keeps waiting through throttling, and gives up after 13 minutes with a PermanentError', async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-backup' } });
      ssmMock
        .on(GetCommandInvocationCommand)
        .rejectsOnce(
          new SSMServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
        )
        .resolves({ Status: 'InProgress' });
      s3Mock.on(DeleteObjectsCommand).resolves({});

      const error: unknown = await provider()
        .backup(target(), primary, location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermanentError);
      expect((error as Error).message).toBe('the backup of p-1/db on db-0 (i-0000000000000000a) took longer than 13 minutes (command cmd-backup)');
      expect(sleep.mock.calls.reduce((total, [ms]) => total + ms, 0)).toBe(13 * 60_000);
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    });

    it.each([
      ['a replica', node('db-1', 'replica', 'i-0000000000000000b'), location, /backups run on the primary/],
      ['a node without an instance id', node('db-0', 'primary', 'local-1'), location, /has no EC2 instance id/],
      ['a bucket S3 would refuse', primary, { bucket: 'Bad_Bucket', key: KEY }, /is not an S3 bucket name/],
      ['a key with a line break', primary, { bucket: BUCKET, key: 'plans/x\nrm -rf /' }, /is not a backup object key/],
    ])('refuses %s before sending anything', async (_case, ref, where, message) => {
      await expect(provider().backup(target(), ref, where)).rejects.toThrow(message);
      expect(sentActions()).toEqual([]);
    });
  });

  describe('validateBackup', () => {
    const restoredLine = `CLOUDSEED_RESULT {"status":"restored","sha256":"${SHA}","tableCount":2}\n`;

    it('restores the object into a scratch database on the primary and passes when every table matches', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 4096 });
      finishes(restoredLine);
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables: [...tables].reverse() })));

      const result = await provider().validateBackup(target(), primary, location, recorded);

      expect(result).toEqual({ status: 'passed', detail: '2 tables, 3 rows match' });
      expect(inputs(s3Mock.commandCalls(HeadObjectCommand))).toEqual([{ Bucket: BUCKET, Key: KEY }]);
      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: {
            commands: expectedCommands('backup-validation', validateScript({ ...scriptInput, recordedSha256: SHA })),
            executionTimeout: ['720'],
          },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db backup-validation',
        },
      ]);
      const script = decodedScript(sent[0]!.Parameters!['commands']!);
      expect(script).toContain(`KEY='${KEY}'\nREGION='eu-west-1'\nOWNER='app'\nRECORDED_SHA256='${SHA}'\n`);
      expect(script).toContain('SCRATCH="cloudseed_validate_$(random_suffix)"');
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: `${KEY}.validation.json` }]);
    });

    it('fails, naming the table, when a restored table differs from the record', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(restoredLine);
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables: [{ ...tables[0], rows: 2 }, tables[1]] })));

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail:
          'table public.orders differs: the restored copy has 2 rows (checksum 0123456789abcdef0123456789abcdef), the backup recorded 3 rows (checksum 0123456789abcdef0123456789abcdef)',
      });
    });

    it('reports what the script found wrong with the backup as a failed validation', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"failed","detail":"pg_restore failed: pg_restore: error: could not read from input file: end of file"}\n`);

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail: 'pg_restore failed: pg_restore: error: could not read from input file: end of file',
      });
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('fails without running anything when the object is gone', async () => {
      s3Mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));

      await expect(provider().validateBackup(target(), primary, location, recorded)).resolves.toEqual({
        status: 'failed',
        detail: `the backup object s3://${BUCKET}/${KEY} does not exist`,
      });
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });

    it('throws when the script could not check the backup at all', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      fails(
        'fatal error: An error occurred (403) when calling the GetObject operation: Forbidden\ncloudseed backup-validation: could not read s3://cloudseed-backups-123/plans/p-1/db/bk-1.dump\n',
      );

      await expect(provider().validateBackup(target(), primary, location, recorded)).rejects.toThrow(
        'backup-validation failed on db-0 (i-0000000000000000a) (exit 1): fatal error: An error occurred (403) when calling the GetObject operation: Forbidden\ncloudseed backup-validation: could not read s3://cloudseed-backups-123/plans/p-1/db/bk-1.dump',
      );
      expect(s3Mock.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    });

    it('refuses a recorded sha256 that is not one', async () => {
      await expect(provider().validateBackup(target(), primary, location, { ...recorded, sha256: "x'; reboot" })).rejects.toThrow(/is not a sha256/);
      expect(sentActions()).toEqual([]);
    });
  });

  describe('restoreBackup', () => {
    it('runs the restore script on the primary with the recorded sha256', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"restored","sha256":"${SHA}"}\n`);

      await provider().restoreBackup(target(), primary, location, recorded);

      const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
      expect(sent).toEqual([
        {
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0000000000000000a'],
          Parameters: {
            commands: expectedCommands('restore', restoreScript({ ...scriptInput, recordedSha256: SHA, swapDeadlineSeconds: 660 })),
            executionTimeout: ['720'],
          },
          TimeoutSeconds: 720,
          Comment: 'CloudSeed p-1/db restore',
        },
      ]);
      expect(decodedScript(sent[0]!.Parameters!['commands']!)).toContain(
        `DATABASE='app'\nOWNER='app'\nRECORDED_SHA256='${SHA}'\nSWAP_DEADLINE_SECONDS='660'\n`,
      );
    });

    it('fails with the script reason, leaving the database as it was', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      fails(`cloudseed restore: the stored object does not match its checksum (sha256 ${'e'.repeat(64)}, recorded ${SHA}); nothing was restored\n`);

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(
        `restore failed on db-0 (i-0000000000000000a) (exit 1): cloudseed restore: the stored object does not match its checksum (sha256 ${'e'.repeat(64)}, recorded ${SHA}); nothing was restored`,
      );
    });

    it('refuses a success that restored another object', async () => {
      s3Mock.on(HeadObjectCommand).resolves({});
      finishes(`CLOUDSEED_RESULT {"status":"restored","sha256":"${'e'.repeat(64)}"}\n`);

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(/not the recorded/);
    });

    it('refuses to start when the object is gone', async () => {
      s3Mock.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));

      await expect(provider().restoreBackup(target(), primary, location, recorded)).rejects.toThrow(
        `the backup object s3://${BUCKET}/${KEY} does not exist; nothing was restored`,
      );
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });
  });

  describe('deleteBackup', () => {
    it('deletes the dump, the globals, the manifest and the validation report in one request', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({ Deleted: allKeys });

      await provider().deleteBackup(target(), location);

      expect(inputs(s3Mock.commandCalls(DeleteObjectsCommand))).toEqual([deleteAll]);
      expect(sentActions()).toEqual(['s3:DeleteObject']);
    });

    it.each([
      ['AccessDenied', PermanentError],
      ['SlowDown', TransientError],
    ] as const)('maps a key S3 could not delete (%s) to a %o', async (code, type) => {
      s3Mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: `${KEY}.globals.sql`, Code: code, Message: 'mocked' }] });

      const error: unknown = await provider()
        .deleteBackup(target(), location)
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toBe(`could not delete s3://${BUCKET}/${KEY}.globals.sql: ${code}: mocked`);
    });

    it('builds the S3 client in the region the bucket’s name gives (not the plan’s), with the assumed role', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({});
      const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => time.now, sleep } });

      await aws.deleteBackup(target(), location);

      const client = s3Mock.call(0).thisValue as S3Client;
      expect(ACCOUNT.region).not.toBe(BACKUP_REGION);
      expect(await client.config.region()).toBe(BACKUP_REGION);
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', sessionToken: 'token' });
    });

    it('looks for a bucket whose name gives no region in the plan’s region', async () => {
      s3Mock.on(DeleteObjectsCommand).resolves({});
      const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => time.now, sleep } });

      await aws.deleteBackup(target(), { bucket: 'my-own-backups', key: KEY });

      expect(await (s3Mock.call(0).thisValue as S3Client).config.region()).toBe(ACCOUNT.region);
    });
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.backups);
