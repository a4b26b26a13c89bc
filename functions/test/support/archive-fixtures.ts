import type { ArchiveBackupResult, BackupResult, TableFingerprint } from '../../providers/provider.ts';

// What the backup and archive scripts report, as the providers' tests play them on every cloud: two
// tables' fingerprints, a logical backup's summary and manifest, and a pgBackRest stanza with one
// full backup, with what the provider records of each.

export const SHA = 'c'.repeat(64);
export const LABEL = '20300101-000000F';

export const tables: TableFingerprint[] = [
  { table: 'public.orders', rows: 3, checksum: '0123456789abcdef0123456789abcdef' },
  { table: 'public.empty', rows: 0, checksum: '' },
];

/** The backup script's result line, and the manifest it stores. */
export const summary = { sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tableCount: 2 };
export const manifest = JSON.stringify({ sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables });
export const recorded: BackupResult = { sizeBytes: 4096, sha256: SHA, durationMs: 812, serverVersion: '16.4', tables };

/** `pgbackrest info` of stanza db, trimmed on the node to what the provider reads. */
export const info = [
  {
    name: 'db',
    status: { code: 0, message: 'ok' },
    backup: [
      {
        label: LABEL,
        type: 'full',
        timestamp: { start: 1893456000, stop: 1893456060 },
        info: { size: 123456, repository: { delta: 2345 } },
        archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
      },
    ],
    archive: [{ min: '000000010000000000000001', max: '000000010000000000000003' }],
  },
];

/** What archiveBackup records of backup bk-1 in that stanza. */
export const archived: ArchiveBackupResult = {
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

/** The archive-backup script's result for bk-1, its repository in `bucket`. */
export const archiveReport = (bucket: string) => ({
  label: LABEL,
  restorePoint: 'cloudseed-bk-1',
  serverVersion: '16.4',
  durationMs: 70_000,
  bucket,
  tableCount: 2,
  info,
});
