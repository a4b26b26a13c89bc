import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import type { GetCommandInvocationCommandOutput } from '@aws-sdk/client-ssm';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  archiveBackupScript,
  archiveValidateScript,
  recoveryWindowScript,
  restoreToPointScript,
} from '../../providers/node-backups/archive-scripts.ts';
import { PermanentError } from '../../providers/errors.ts';
import type { ArchiveBackupResult, TableFingerprint } from '../../providers/provider.ts';
import {
  cluster,
  decodedScript,
  ec2Mock,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  node,
  provider,
  reservations,
  rendered,
  s3Mock,
  ssmMock,
  target,
} from '../support/aws.ts';

mockAws();

describe('continuous archiving', () => {
  const primary = node('db-0', 'primary', 'i-0000000000000000a');
  // The repository's bucket, as the node's pgBackRest config names it (the plan's region).
  const BUCKET = 'cloudseed-backups-123456789012-eu-central-1';
  const LABEL = '20300101-000000F';
  const input = { stanza: 'db', database: 'app', port: 5432, binDir: '/usr/bin', cloud: 'aws', cloudValues: { REGION: 'eu-central-1' } } as const;
  const tables: TableFingerprint[] = [
    { table: 'public.orders', rows: 3, checksum: '0123456789abcdef0123456789abcdef' },
    { table: 'public.empty', rows: 0, checksum: '' },
  ];
  const backupInfo = {
    label: LABEL,
    type: 'full',
    timestamp: { start: 1893456000, stop: 1893456060 },
    info: { size: 123456, repository: { delta: 2345 } },
    archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
  };
  const info = [
    {
      name: 'db',
      status: { code: 0, message: 'ok' },
      backup: [backupInfo],
      archive: [{ min: '000000010000000000000001', max: '000000010000000000000003' }],
    },
  ];
  const recorded: ArchiveBackupResult = {
    label: LABEL,
    type: 'full',
    startedAt: '2030-01-01T00:00:00.000Z',
    stoppedAt: '2030-01-01T00:01:00.000Z',
    databaseBytes: 123456,
    sizeBytes: 2345,
    durationMs: 70_000,
    serverVersion: '16.4',
    restorePoint: 'cloudseed-bk-1',
    tables,
  };

  function expectedCommands(label: string, script: string, environment = ''): string[] {
    const encoded = Buffer.from(script).toString('base64');
    return [
      'set -e',
      'umask 077',
      `printf '%s' '${encoded}' | base64 -d > /root/cloudseed-${label}.sh`,
      `chmod 700 /root/cloudseed-${label}.sh`,
      `${environment}bash /root/cloudseed-${label}.sh`,
    ];
  }

  function sendCommand(label: string, script: string, instanceId = 'i-0000000000000000a', environment = '', seconds = 720) {
    return {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [instanceId],
      Parameters: { commands: expectedCommands(label, script, environment), executionTimeout: [String(seconds)] },
      TimeoutSeconds: seconds,
      Comment: `CloudSeed p-1/db ${label}`,
    };
  }

  function finishes(invocation: Partial<GetCommandInvocationCommandOutput>): void {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-archive' } });
    ssmMock.on(GetCommandInvocationCommand).resolvesOnce({ Status: 'InProgress' }).resolves(invocation);
  }

  const reports = (result: unknown) =>
    finishes({ Status: 'Success', ResponseCode: 0, StandardOutputContent: `CLOUDSEED_RESULT ${JSON.stringify(result)}\n` });

  function body(text: string): GetObjectCommandOutput {
    return { $metadata: {}, Body: { transformToString: () => Promise.resolve(text) } as unknown as GetObjectCommandOutput['Body'] };
  }

  const sentScript = () => decodedScript(inputs(ssmMock.commandCalls(SendCommandCommand))[0]!.Parameters!['commands']!);

  describe('archiveBackup', () => {
    const backupReport = {
      label: LABEL,
      restorePoint: 'cloudseed-bk-1',
      serverVersion: '16.4',
      durationMs: 70_000,
      bucket: BUCKET,
      tableCount: 2,
      info,
    };
    const key = 'plans/p-1/db/archive/bk-1.fingerprints.json';

    it('backs up on the primary, and returns what pgBackRest made with the fingerprints the node stored', async () => {
      reports(backupReport);
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      // A differential with no full before it: pgBackRest makes a full, and the result says so.
      const result = await provider().archiveBackup(target(), primary, { backupId: 'bk-1', type: 'diff' });

      expect(result).toEqual(recorded);
      const script = archiveBackupScript({ ...input, key, type: 'diff', restorePoint: 'cloudseed-bk-1' });
      expect(inputs(ssmMock.commandCalls(SendCommandCommand))).toEqual([sendCommand('archive-backup', script)]);
      expect(sentScript()).toContain(
        "TASK='archive-backup'\nARCHIVE_CONF_FILE='/etc/pgbackrest/pgbackrest.conf'\nSTANZA='db'\n" +
          `KEY='${key}'\nREGION='eu-central-1'\nDATABASE='app'\nBACKUP_TYPE='diff'\nRESTORE_POINT='cloudseed-bk-1'\n`,
      );
      expect(sentScript()).toContain("pg_catalog.pg_create_restore_point(:'restore_point')");
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: key }]);
    });

    it('fails with the reason the node gave', async () => {
      finishes({
        Status: 'Failed',
        ResponseCode: 1,
        StandardErrorContent:
          'cloudseed archive-backup: pgbackrest backup failed: ERROR: [082]: WAL segment was not archived before the 60000ms timeout\n',
      });

      const error = await provider()
        .archiveBackup(target(), primary, { backupId: 'bk-1', type: 'incr' })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermanentError);
      expect((error as Error).message).toBe(
        'archive-backup failed on db-0 (i-0000000000000000a) (exit 1): cloudseed archive-backup: pgbackrest backup failed: ERROR: [082]: WAL segment was not archived before the 60000ms timeout',
      );
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('refuses a run that printed no result line', async () => {
      finishes({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'something else\n' });

      await expect(provider().archiveBackup(target(), primary, { backupId: 'bk-1', type: 'full' })).rejects.toThrow(
        /printed no CLOUDSEED_RESULT line; its output began: something else/,
      );
    });

    it("reads fingerprints only from the account's own backup bucket", async () => {
      reports({ ...backupReport, bucket: 'cloudseed-backups-999999999999-eu-central-1' });

      await expect(provider().archiveBackup(target(), primary, { backupId: 'bk-1', type: 'full' })).rejects.toThrow(
        /used bucket "cloudseed-backups-999999999999-eu-central-1", which is not this account's CloudSeed backup bucket/,
      );
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('refuses a backup set pgbackrest info does not list', async () => {
      reports({ ...backupReport, label: '20300101-000000F_20300101-010000I' });

      await expect(provider().archiveBackup(target(), primary, { backupId: 'bk-1', type: 'incr' })).rejects.toThrow(
        /reported backup set 20300101-000000F_20300101-010000I, which pgbackrest info does not list/,
      );
    });

    it('refuses a backup id a shell or a restore point name could trip on, before sending anything', async () => {
      await expect(provider().archiveBackup(target(), primary, { backupId: 'bk 1; reboot', type: 'full' })).rejects.toThrow(PermanentError);
      await expect(
        provider().archiveBackup(target(), node('db-1', 'replica', 'i-0000000000000000b'), { backupId: 'bk-1', type: 'full' }),
      ).rejects.toThrow('continuous archiving runs on the primary, not on replica db-1');
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });
  });

  describe('validateArchiveBackup', () => {
    const key = 'plans/p-1/db/archive/bk-1.validation.json';
    const verifyOk = [
      'stanza: db',
      'status: ok',
      '  archiveId: 15-1, total WAL checked: 4, total valid WAL: 4',
      `  backup: ${LABEL}, status: valid, total files checked: 965, total valid files: 965`,
      '    missing: 0, checksum invalid: 0, size invalid: 0, other: 0',
    ].join('\n');
    const restored = (verify: string, verifyExit = 0) => ({ status: 'restored', bucket: BUCKET, tableCount: 2, verifyExit, verify });

    it('restores the set into a scratch server to its restore point, compares the fingerprints and reads verify', async () => {
      reports(restored(verifyOk));
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      const result = await provider().validateArchiveBackup(target(), primary, recorded);

      expect(result).toEqual({
        status: 'passed',
        detail: `backup set ${LABEL} restored to cloudseed-bk-1: 2 tables, 3 rows match; pgbackrest verify found no problems`,
      });
      const script = archiveValidateScript({ ...input, key, backupId: 'bk-1', label: LABEL, restorePoint: 'cloudseed-bk-1' });
      expect(inputs(ssmMock.commandCalls(SendCommandCommand))).toEqual([sendCommand('archive-validation', script)]);
      expect(sentScript()).toContain(
        `LABEL='${LABEL}'\nRESTORE_POINT='cloudseed-bk-1'\nSCRATCH_DIR='/var/lib/cloudseed/validate-bk-1'\nSCRATCH_PORT='5499'\n`,
      );
      expect(sentScript()).toContain('--type=name --target="$RESTORE_POINT" --target-action=promote --archive-mode=off');
      expect(inputs(s3Mock.commandCalls(GetObjectCommand))).toEqual([{ Bucket: BUCKET, Key: key }]);
    });

    it('fails a backup whose verify printed an error, though it completed successfully', async () => {
      reports(restored(`P00  ERROR: [028]: invalid checksum in archive 000000010000000000000002\n${verifyOk}`));
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      const result = await provider().validateArchiveBackup(target(), primary, recorded);

      expect(result.status).toBe('failed');
      expect(result.detail).toContain('pgbackrest verify reported');
      expect(result.detail).toContain('invalid checksum in archive 000000010000000000000002');
    });

    it('fails a backup whose verify reports a backup with invalid files, though its status line says ok', async () => {
      reports(restored(verifyOk.replace('checksum invalid: 0', 'checksum invalid: 2').replace('status: valid', 'status: invalid')));
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      const result = await provider().validateArchiveBackup(target(), primary, recorded);

      expect(result.status).toBe('failed');
      expect(result.detail).toContain(`backup: ${LABEL}, status: invalid`);
    });

    it('fails a backup whose verify printed no report at all', async () => {
      reports(restored(''));
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      expect(await provider().validateArchiveBackup(target(), primary, recorded)).toEqual({
        status: 'failed',
        detail: 'pgbackrest verify reported pgbackrest verify did not report "status: ok"',
      });
    });

    it('fails a backup whose verify exited with an error', async () => {
      reports(restored(verifyOk, 1));
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables })));

      expect(await provider().validateArchiveBackup(target(), primary, recorded)).toEqual({
        status: 'failed',
        detail: `pgbackrest verify exited 1: ${verifyOk.split('\n').at(-1)?.trim() ?? ''}`,
      });
    });

    it('fails a restored copy whose rows differ from the recorded ones', async () => {
      reports(restored(verifyOk));
      const changed = [{ ...tables[0]!, rows: 2 }, tables[1]!];
      s3Mock.on(GetObjectCommand).resolves(body(JSON.stringify({ tables: changed })));

      const result = await provider().validateArchiveBackup(target(), primary, recorded);

      expect(result.status).toBe('failed');
      expect(result.detail).toContain('public.orders');
    });

    it('reports the restore the node could not do as a failed validation', async () => {
      reports({ status: 'failed', detail: 'the restored copy of 20300101-000000F did not stop at restore point cloudseed-bk-1' });

      expect(await provider().validateArchiveBackup(target(), primary, recorded)).toEqual({
        status: 'failed',
        detail: 'the restored copy of 20300101-000000F did not stop at restore point cloudseed-bk-1',
      });
      expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it("refuses a recorded label that is not pgBackRest's", async () => {
      await expect(provider().validateArchiveBackup(target(), primary, { ...recorded, label: "x'; reboot" })).rejects.toThrow(PermanentError);
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });
  });

  describe('recoveryWindow', () => {
    it('reaches from the end of the oldest backup to the newest archived heartbeat', async () => {
      reports({ latest: '2030-01-01T02:00:14.999Z', info });

      expect(await provider().recoveryWindow(target(), primary)).toEqual({
        earliest: '2030-01-01T00:01:01.000Z',
        latest: '2030-01-01T02:00:14.999Z',
      });
      // Read for an API request: SSM's shortest timeout, polled every second.
      expect(inputs(ssmMock.commandCalls(SendCommandCommand))).toEqual([
        sendCommand('recovery-window', recoveryWindowScript(input), undefined, '', 30),
      ]);
    });

    it('gives up within API Gateway’s 29 s when the node does not answer', async () => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-archive' } });
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });

      await expect(provider().recoveryWindow(target(), primary)).rejects.toThrow(/recovery-window of p-1\/db on .* took longer than 20 s/);
      expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(20);
    });

    it('is undefined while the repository holds no backup, or nothing after the first one is archived yet', async () => {
      reports({ latest: '2030-01-01T02:00:14.999Z', info: [{ ...info[0], backup: [] }] });
      expect(await provider().recoveryWindow(target(), primary)).toBeUndefined();

      reports({ latest: '2030-01-01T00:00:30.000Z', info });
      expect(await provider().recoveryWindow(target(), primary)).toBeUndefined();
    });

    it("refuses an answer that is not pgBackRest's", async () => {
      reports({ latest: '', info: [{ name: 'other' }] });
      await expect(provider().recoveryWindow(target(), primary)).rejects.toThrow(/pgbackrest info knows no stanza db/);
    });
  });

  describe('restoreToPoint', () => {
    const restoreInput = { ...input, service: 'postgresql', logDir: '/var/lib/pgsql/data/log' };

    it('restores the primary in place to a time and checks it came back on a new timeline', async () => {
      reports({ status: 'restored', timeline: 2 });

      await provider().restoreToPoint(target(), primary, { kind: 'time', time: '2030-01-01T01:30:00.000Z' });

      // In pgBackRest's own form: it picks the backup set for a time target only in that form.
      const script = restoreToPointScript({ ...restoreInput, target: { type: 'time', target: '2030-01-01 01:30:00.000+00', set: '' } });
      expect(inputs(ssmMock.commandCalls(SendCommandCommand))).toEqual([sendCommand('point-in-time-restore', script)]);
      expect(sentScript()).toContain(
        "SERVICE='postgresql'\nLOG_DIR='/var/lib/pgsql/data/log'\nTARGET_TYPE='time'\nTARGET='2030-01-01 01:30:00.000+00'\nTARGET_SET=''\n",
      );
    });

    it("restores to a backup's restore point with its set", async () => {
      reports({ status: 'restored', timeline: 3 });

      await provider().restoreToPoint(target(), primary, { kind: 'restore-point', name: 'cloudseed-bk-1', label: LABEL });

      expect(sentScript()).toContain(`TARGET_TYPE='name'\nTARGET='cloudseed-bk-1'\nTARGET_SET='${LABEL}'\n`);
    });

    it('fails a restore that left the primary on its old timeline', async () => {
      reports({ status: 'restored', timeline: 1 });

      await expect(provider().restoreToPoint(target(), primary, { kind: 'time', time: '2030-01-01T01:30:00Z' })).rejects.toThrow(
        /left the primary on timeline 1, not on a new one/,
      );
    });

    it('refuses a target that is not a time before sending anything', async () => {
      await expect(provider().restoreToPoint(target(), primary, { kind: 'time', time: "now'; reboot" })).rejects.toThrow(PermanentError);
      await expect(provider().restoreToPoint(target(), primary, { kind: 'restore-point', name: 'mine', label: LABEL })).rejects.toThrow(
        PermanentError,
      );
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });
  });

  describe('rebuildReplicas', () => {
    it('has every replica clone the primary again with the configure script, one command each', async () => {
      const replicas = [node('db-1', 'replica', 'i-0000000000000000b'), node('db-2', 'replica', 'i-0000000000000000c')];
      ec2Describes();
      finishes({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'PostgreSQL replica configured\n' });

      await provider().rebuildReplicas(target(cluster), primary, replicas);

      const environment = "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_PRIMARY_HOST='172.31.5.10' CLOUDSEED_REBUILD_REPLICA='yes' ";
      const configure = rendered(cluster).scripts.configure;
      expect(inputs(ssmMock.commandCalls(SendCommandCommand))).toEqual([
        sendCommand('rebuild-replica', configure, 'i-0000000000000000b', environment),
        sendCommand('rebuild-replica', configure, 'i-0000000000000000c', environment),
      ]);
      expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand)).map((call) => call.InstanceId)).toContain('i-0000000000000000c');
    });

    it('sends nothing for a deployment without replicas', async () => {
      await provider().rebuildReplicas(target(), primary, []);
      expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    });

    function ec2Describes(): void {
      ec2Mock
        .on(DescribeInstancesCommand)
        .resolves(reservations({ InstanceId: 'i-0000000000000000a', PrivateIpAddress: '172.31.5.10', State: { Name: 'running' } }));
    }
  });

  itSentOnlyListedActions(['ssm:SendCommand', 'ssm:GetCommandInvocation', 's3:GetObject']);
});
