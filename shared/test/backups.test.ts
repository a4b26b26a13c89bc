import { describe, expect, it } from 'vitest';
import { BACKUP_ID, backupKey, backupResource, expiredBackups, newBackupId } from '../src/index.ts';
import type { BackupRecord } from '../src/index.ts';

const now = new Date('2026-11-24T12:00:00Z');

function backup(id: string, daysAgo: number, overrides: Partial<BackupRecord> = {}): BackupRecord {
  return {
    ownerId: 'o',
    planId: 'p',
    backupId: id,
    componentId: 'db',
    trigger: 'schedule',
    status: 'succeeded',
    startedAt: new Date(now.getTime() - daysAgo * 86_400_000).toISOString(),
    location: { bucket: 'b', key: `k/${id}` },
    validation: { status: 'passed' },
    ...overrides,
  };
}

describe('retention', () => {
  it('removes what is older than the retention, oldest first', () => {
    const records = [backup('a', 10), backup('b', 8), backup('c', 6), backup('d', 1)];
    expect(expiredBackups(records, 7, now).map((record) => record.backupId)).toEqual(['a', 'b']);
  });

  it('always keeps the newest good backup, however old', () => {
    const records = [
      backup('old-good', 30),
      backup('newer-failed', 20, { status: 'failed' }),
      backup('newest-invalid', 10, { validation: { status: 'failed' } }),
    ];
    expect(expiredBackups(records, 7, now).map((record) => record.backupId)).toEqual(['newer-failed', 'newest-invalid']);
  });

  it('never removes a running backup', () => {
    expect(expiredBackups([backup('running', 30, { status: 'running' }), backup('fresh', 0)], 7, now)).toEqual([]);
  });

  it('keeps everything inside the window', () => {
    expect(expiredBackups([backup('a', 6.9), backup('b', 0.1)], 7, now)).toEqual([]);
  });
});

describe('backup ids and records', () => {
  it('sort by time and have a fixed shape', () => {
    const first = newBackupId(new Date('2026-01-02T03:04:05.678Z'), 'deadbeefcafe');
    expect(first).toBe('20260102T030405Z-deadbeef');
    expect(BACKUP_ID.test(first)).toBe(true);
    expect(newBackupId(new Date('2026-01-02T03:04:06Z'), '00000000') > first).toBe(true);
    expect(BACKUP_ID.test('../../etc')).toBe(false);
    expect(backupKey('plan', 'db', first)).toBe(`plans/plan/db/${first}.dump`);
  });

  it('shows totals, not the per-table fingerprints', () => {
    const resource = backupResource(
      backup('x', 0, {
        tables: [
          { table: 'public.a', rows: 2, checksum: 'c1' },
          { table: 'public.b', rows: 3, checksum: 'c2' },
        ],
        sizeBytes: 10,
      }),
    );
    expect(resource).toMatchObject({ backupId: 'x', tables: 2, rows: 5, sizeBytes: 10, validation: { status: 'passed' } });
    expect(JSON.stringify(resource)).not.toContain('c1');
  });
});
