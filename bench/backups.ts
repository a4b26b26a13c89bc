import { performance } from 'node:perf_hooks';
import { startLocalCloud } from '../test/support/local-cloud.ts';
import { benchClient } from './client.ts';
import { round } from './harness.ts';

interface Backup {
  backupId: string;
  status: string;
  trigger: string;
  startedAt: string;
  durationMs?: number;
  sizeBytes?: number;
  validation: { status: string };
}

/**
 * A 200 MB database on the local cloud: a logical export (pg_dump → s3rver), its validation
 * (restore into a scratch database and compare) and restore throughput; and how long a scheduled
 * backup (pgBackRest) takes from the moment its schedule fires to being validated.
 */
export async function backupBench(targetMB = 200) {
  const cloud = await startLocalCloud();
  try {
    const { call, until, deployPlan, psqlOf } = await benchClient(cloud);
    const planId = await deployPlan('bench-backup', { schedule: '0 3 * * *' });
    const psql = await psqlOf(planId);
    const rows = Math.round((targetMB * 1024 * 1024) / 300);
    await psql(`CREATE TABLE payload AS SELECT g AS id, repeat(md5(g::text), 8) AS body FROM generate_series(1, ${rows}) g`);
    const databaseBytes = Number(await psql("SELECT pg_database_size('app')"));

    const started = performance.now();
    const { backupId } = await call('POST', `/v1/plan/${planId}/backups`, { kind: 'logical' });
    const backup = await until(
      async () => ((await call('GET', `/v1/plan/${planId}/backups`)).items as Backup[]).find((item) => item.backupId === backupId),
      (item) => item !== undefined && item.status !== 'running' && item.validation.status !== 'pending',
    );
    const totalMs = performance.now() - started;
    if (backup?.status !== 'succeeded' || backup.validation.status !== 'passed') throw new Error(`backup failed: ${JSON.stringify(backup)}`);
    const dumpMs = backup.durationMs ?? totalMs;

    const restoreStarted = performance.now();
    await call('POST', `/v1/plan/${planId}/backups/${String(backupId)}/restore`, { confirm: true });
    await until(
      () => call('GET', `/v1/plan/${planId}/deployment`),
      (deployment) => deployment.status !== 'deploying',
    );
    const restoreMs = performance.now() - restoreStarted;

    const mb = databaseBytes / (1024 * 1024);
    // A schedule fires at most hourly: this one at the minute that starts 40 to 100 s from now.
    const scheduledId = await deployPlan('bench-scheduled', {
      schedule: `${new Date(Date.now() + 100_000).getUTCMinutes()} * * * *`,
      incrementalEveryHours: 0,
    });
    const scheduled = await until(
      async () => ((await call('GET', `/v1/plan/${scheduledId}/backups`)).items as Backup[]).find((item) => item.trigger === 'schedule'),
      (item) => item !== undefined && item.status !== 'running' && item.validation.status !== 'pending',
    );
    const firedAt = new Date(scheduled?.startedAt ?? Date.now());
    firedAt.setUTCSeconds(0, 0);
    return {
      databaseMB: round(mb),
      backupObjectMB: round((backup.sizeBytes ?? 0) / (1024 * 1024)),
      dumpSeconds: round(dumpMs / 1000, 2),
      dumpMBps: round(mb / (dumpMs / 1000)),
      dumpAndValidateSeconds: round(totalMs / 1000, 2),
      validatedMBps: round(mb / (totalMs / 1000)),
      restoreSeconds: round(restoreMs / 1000, 2),
      restoreMBps: round(mb / (restoreMs / 1000)),
      scheduledFireToValidatedSeconds: round((Date.now() - firedAt.getTime()) / 1000, 1),
    };
  } finally {
    await cloud.stop();
  }
}
