import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLocalCloud } from '../test/support/local-cloud.ts';
import { benchClient } from './client.ts';
import { round } from './harness.ts';

interface Backup {
  backupId: string;
  status: string;
  label?: string;
  durationMs?: number;
  sizeBytes?: number;
  validation: { status: string; detail?: string };
}

const RPO_SAMPLES = 3;

/**
 * Continuous archiving of a database of at least 1 GB on the local cloud (pgBackRest to s3rver over
 * TLS): the full backup's and a restore's throughput, the recovery point objective (from a commit
 * on an idle database to the recovery window reaching it: its WAL is in the repository), and a
 * point-in-time restore from POST to writable.
 */
export async function pointInTimeBench(targetMB = 1100) {
  const cloud = await startLocalCloud();
  try {
    const { call, until, deployPlan, psqlOf } = await benchClient(cloud);
    const planId = await deployPlan('bench-pitr', { schedule: '0 3 * * *', incrementalEveryHours: 0 });
    const psql = await psqlOf(planId);
    // Four distinct md5s a row: text that compresses about as well as real data does, not like a repeated string.
    const rows = Math.round((targetMB * 1024 * 1024) / 170);
    await psql(
      `CREATE TABLE payload AS SELECT g AS id, md5(g::text) || md5((g + 1)::text) || md5((g * 7)::text) || md5((g * 13)::text) AS body FROM generate_series(1, ${rows}) g`,
    );
    const databaseBytes = Number(await psql("SELECT pg_database_size('app')"));
    const mb = databaseBytes / (1024 * 1024);

    const started = performance.now();
    const { backupId } = await call('POST', `/v1/plan/${planId}/backups`, { type: 'full' });
    const backup = await until(
      async () => ((await call('GET', `/v1/plan/${planId}/backups`)).items as Backup[]).find((item) => item.backupId === backupId),
      (item) => item !== undefined && item.status !== 'running' && item.validation.status !== 'pending',
    );
    const backupAndValidateMs = performance.now() - started;
    if (backup?.status !== 'succeeded' || backup.validation.status !== 'passed') throw new Error(`backup failed: ${JSON.stringify(backup)}`);
    const backupMs = backup.durationMs ?? backupAndValidateMs;

    const windowOf = async () => (await call('GET', `/v1/plan/${planId}/recovery-window`)) as { earliest: string | null; latest: string | null };
    const rpoSeconds: number[] = [];
    for (let sample = 0; sample < RPO_SAMPLES; sample++) {
      const committedAt = Date.parse(
        await psql(
          "INSERT INTO payload VALUES (0, 'rpo') RETURNING to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
        ),
      );
      await until(windowOf, (window) => window.latest !== null && Date.parse(window.latest) >= committedAt);
      rpoSeconds.push((Date.now() - committedAt) / 1000);
    }

    const restoreStarted = performance.now();
    const target = (await windowOf()).latest;
    const restore = await call('POST', `/v1/plan/${planId}/restore`, { targetTime: target, confirm: true });
    if (restore.status !== 'restoring') throw new Error(`restore refused: ${JSON.stringify(restore)}`);
    const restored = await until(
      () => call('GET', `/v1/plan/${planId}/deployment`),
      (deployment) => deployment.status !== 'deploying',
    );
    const restoreToWritableMs = performance.now() - restoreStarted;
    if (restored.status !== 'running') throw new Error(`restore failed: ${String(restored.reason)}`);

    const restoreMs = rawRestoreMs(cloud.home, planId, String(backup.label));
    return {
      databaseMB: round(mb),
      repositoryMB: round((backup.sizeBytes ?? 0) / (1024 * 1024)),
      fullBackupSeconds: round(backupMs / 1000, 2),
      fullBackupMBps: round(mb / (backupMs / 1000)),
      fullBackupAndValidateSeconds: round(backupAndValidateMs / 1000, 2),
      restoreSeconds: round(restoreMs / 1000, 2),
      restoreMBps: round(mb / (restoreMs / 1000)),
      rpoSecondsMedian: round([...rpoSeconds].sort((a, b) => a - b)[Math.floor(rpoSeconds.length / 2)] ?? 0, 1),
      rpoSecondsMax: round(Math.max(...rpoSeconds), 1),
      pointInTimeRestoreToWritableSeconds: round(restoreToWritableMs / 1000, 2),
    };
  } finally {
    await cloud.stop();
  }
}

/**
 * pgBackRest's restore of the full backup into an empty directory, timed on its own: the throughput
 * a new server or a lost disk gets (the in-place restore above fetches only what changed).
 */
function rawRestoreMs(home: string, planId: string, label: string): number {
  const config = join(home, 'instances', planId, 'db-0', 'pgbackrest', 'pgbackrest.conf');
  const scratch = mkdtempSync('/tmp/cloudseed-bench-restore-');
  // The local cloud runs as root (its servers run as postgres): so does this, and pgBackRest as postgres.
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  chownSync(scratch, id('-u'), id('-g'));
  try {
    const started = performance.now();
    const result = spawnSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        'pgbackrest',
        `--config=${config}`,
        '--stanza=db',
        `--pg1-path=${scratch}`,
        `--lock-path=${scratch}-lock`,
        `--spool-path=${scratch}-spool`,
        `--log-path=${scratch}-log`,
        '--log-level-file=off',
        `--set=${label}`,
        '--type=immediate',
        '--archive-mode=off',
        'restore',
      ],
      { encoding: 'utf8' },
    );
    const elapsed = performance.now() - started;
    if (result.status !== 0) throw new Error(`pgbackrest restore failed: ${result.stdout}${result.stderr}`);
    return elapsed;
  } finally {
    for (const dir of [scratch, `${scratch}-lock`, `${scratch}-spool`, `${scratch}-log`]) rmSync(dir, { recursive: true, force: true });
  }
}
