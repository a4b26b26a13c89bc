import { describe, expect, it } from 'vitest';
import {
  connectionString,
  describeSchedule,
  formatBytes,
  formatDuration,
  readableReason,
  stepFunctionsConsoleUrl,
  stepLabel,
  timelineRows,
} from './format.ts';

describe('step names', () => {
  it('reads the workflow’s states as words', () => {
    expect(stepLabel('CheckInstall')).toBe('Install PostgreSQL');
    expect(stepLabel('Preflight (analytics)')).toBe('Preflight checks · analytics');
    expect(stepLabel('SomethingNew')).toBe('Something new');
  });

  it('lists the steps not reached yet as pending while the workflow runs, and only then', () => {
    const steps = [{ name: 'RestoreBackup', status: 'running' as const, startedAt: '2026-11-24T09:49:08.658Z' }];

    expect(timelineRows({ status: 'deploying', mode: 'restore', steps }).map((row) => [row.label, row.state])).toEqual([
      ['Restore the backup', 'running'],
      ['Finish the restore', 'pending'],
    ]);
    expect(timelineRows({ status: 'failed', mode: 'restore', steps })).toHaveLength(1);
  });

  it('lists a point-in-time restore’s steps in words, with the full backup that follows it', () => {
    const steps = [
      { name: 'RestoreToPoint', status: 'succeeded' as const, startedAt: '2026-11-24T09:49:08.658Z', endedAt: '2026-11-24T09:49:12.400Z' },
      { name: 'RebuildReplicas', status: 'running' as const, startedAt: '2026-11-24T09:49:12.400Z' },
    ];

    expect(timelineRows({ status: 'deploying', mode: 'restore', steps }).map((row) => [row.label, row.state])).toEqual([
      ['Restore to the point in time', 'succeeded'],
      ['Rebuild replicas', 'running'],
      ['Finish the restore', 'pending'],
      ['Start a full backup', 'pending'],
    ]);
  });

  it('does not list a step of one component as pending when another component reached it', () => {
    const rows = timelineRows({
      status: 'deploying',
      mode: 'teardown',
      steps: [
        { name: 'Render', status: 'succeeded', startedAt: '2026-11-24T09:49:00.000Z', endedAt: '2026-11-24T09:49:00.100Z' },
        { name: 'Destroy (db)', status: 'running', startedAt: '2026-11-24T09:49:00.100Z' },
      ],
    });

    expect(rows.map((row) => row.label)).toEqual(['Prepare the plan', 'Remove servers, network rules and secrets · db', 'Delete the plan']);
  });
});

describe('formatting', () => {
  it('writes durations for people', () => {
    expect(formatDuration(17)).toBe('17 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(59_990)).toBe('59.9 s');
    expect(formatDuration(83_000)).toBe('1 min 23 s');
    expect(formatDuration(5_400_000)).toBe('1 h 30 min');
    expect(formatDuration(-40)).toBe('0 ms');
  });

  it('writes sizes in binary units', () => {
    expect(formatBytes(847)).toBe('847 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(250 * 1024 * 1024)).toBe('250 MiB');
    expect(formatBytes(3.2 * 1024 ** 3)).toBe('3.2 GiB');
  });

  it('describes the common backup schedules and leaves the rest as cron', () => {
    expect(describeSchedule('0 3 * * *', 'UTC')).toBe('Every day at 03:00 UTC');
    expect(describeSchedule('30 1 * * 0', 'Europe/Paris')).toBe('Every Sunday at 01:30 Europe/Paris');
    expect(describeSchedule('15 * * * *')).toBe('Every hour at :15');
    expect(describeSchedule('0 4 1 * *')).toBe('Monthly on day 1 at 04:00 UTC');
    expect(describeSchedule('*/5 * * * *')).toBeUndefined();
  });

  it('splits a failure reason into its step and what happened', () => {
    expect(readableReason('Preflight: PostgreSQL 17 is not installed on this machine')).toEqual({
      step: 'Preflight checks',
      text: 'PostgreSQL 17 is not installed on this machine',
    });
    expect(readableReason('ValidateBackup: backup 20261124T030000Z-0000beef did not validate: row counts differ')).toEqual({
      step: 'Validate the backup',
      text: 'backup 20261124T030000Z-0000beef did not validate: row counts differ',
    });
    expect(readableReason('db-1 does not answer on 127.0.0.1:5433')).toEqual({ text: 'db-1 does not answer on 127.0.0.1:5433' });
  });

  it('builds the connection string without a password', () => {
    expect(connectionString({ host: 'db.internal', port: 5432, database: 'orders', username: 'app' }, 'p-123')).toBe(
      'postgresql://app@db.internal:5432/orders?sslmode=verify-full&sslrootcert=cloudseed-p-123-ca.crt',
    );
  });

  it('links an execution to its console page in its own region', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:cloudseed-deploy:abc';
    expect(stepFunctionsConsoleUrl(arn, 'us-east-1')).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`,
    );
    expect(stepFunctionsConsoleUrl('arn:aws:states:local:000000000000:execution:x:y', undefined)).toBeUndefined();
  });
});
