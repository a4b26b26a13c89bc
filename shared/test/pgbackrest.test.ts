import { describe, expect, it } from 'vitest';
import {
  archiveSettings,
  baseBackupFor,
  parseStanzaInfo,
  parseTimelineHistory,
  pgbackrestTime,
  renderPgbackrestConf,
  scheduledBackupType,
  verifyProblems,
} from '../src/postgres/pgbackrest.ts';

// pgBackRest as CloudSeed drives it on every cloud: the config it writes, the answers it reads.

const backup = (label: string, type: string, start: number, stop: number, wal: string, lsnStop: string) => ({
  label,
  type,
  timestamp: { start, stop },
  info: { size: 1000, repository: { delta: 100 } },
  archive: { start: wal, stop: wal },
  lsn: { start: '0/0', stop: lsnStop },
});

const t = (iso: string) => Date.parse(iso) / 1000;

const info = parseStanzaInfo(
  JSON.stringify([
    {
      name: 'db',
      status: { code: 0, message: 'ok' },
      archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000030000000000000012' }],
      backup: [
        // On timeline 1, before and after the branch to timeline 2 at 0/5000000.
        backup('20261205-080000F', 'full', t('2026-12-05T08:00:00Z'), t('2026-12-05T08:00:10Z'), '000000010000000000000002', '0/2000100'),
        backup(
          '20261205-080000F_20261205-090000I',
          'incr',
          t('2026-12-05T09:00:00Z'),
          t('2026-12-05T09:00:05Z'),
          '000000010000000000000007',
          '0/7000100',
        ),
        // On timeline 2 (branched from 1 at 0/5000000), then abandoned at 0/9000000 for timeline 3.
        backup('20261205-093000F', 'full', t('2026-12-05T09:30:00Z'), t('2026-12-05T09:30:08Z'), '000000020000000000000008', '0/8000100'),
        backup(
          '20261205-093000F_20261205-100000I',
          'incr',
          t('2026-12-05T10:00:00Z'),
          t('2026-12-05T10:00:04Z'),
          '00000002000000000000000A',
          '0/A000100',
        ),
      ],
    },
    { name: 'other', backup: [] },
  ]),
  'db',
);

describe('pgBackRest', () => {
  it('renders one config per instance, refusing a value that would break its line', () => {
    const conf = renderPgbackrestConf({
      stanza: 'db',
      repoPath: '/pgbackrest/plan-1',
      repository: {
        bucket: 'b',
        endpoint: 'localhost',
        port: 9443,
        region: 'us-east-1',
        keyType: 'shared',
        key: 'K',
        keySecret: 'S',
        caFile: '/ca.crt',
        uriStyle: 'path',
      },
      dataDir: '/data',
      port: 5433,
      spoolPath: '/spool',
      logPath: '/log',
      lockPath: '/lock',
      retentionDays: 7,
      processMax: 2,
    });
    expect(conf).toContain('[global]\nrepo1-type=s3\nrepo1-path=/pgbackrest/plan-1\n');
    expect(conf).toContain('repo1-storage-ca-file=/ca.crt\n');
    expect(conf).toContain('repo1-retention-full-type=time\nrepo1-retention-full=7\ncompress-type=zst\n');
    expect(conf).toContain('archive-async=y\n');
    expect(conf).not.toContain('cipher');
    expect(conf).toContain('\n[db]\npg1-path=/data\npg1-port=5433\npg1-user=postgres\n');
    expect(() =>
      renderPgbackrestConf({
        stanza: 'db\n[evil]',
        repoPath: '/p',
        repository: { bucket: 'b', endpoint: 'e', region: 'r', keyType: 'auto', uriStyle: 'host' },
        dataDir: '/d',
        port: 1,
        spoolPath: '/s',
        logPath: '/l',
        lockPath: '/k',
        retentionDays: 1,
        processMax: 1,
      }),
    ).toThrow(/not one line/);
  });

  it('archives through the instance config and fetches from it in recovery', () => {
    expect(archiveSettings('/etc/pgbackrest/pgbackrest.conf', 'db')).toEqual({
      wal_level: 'replica',
      archive_mode: 'on',
      archive_command: "'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=db archive-push %p'",
      archive_timeout: '55',
      restore_command: '\'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=db archive-get %f "%p"\'',
    });
  });

  it('reads info: backups with their timeline, the archive bounds, and refuses another shape', () => {
    expect(info.backups.map((entry) => [entry.label, entry.type, entry.timeline])).toEqual([
      ['20261205-080000F', 'full', 1],
      ['20261205-080000F_20261205-090000I', 'incr', 1],
      ['20261205-093000F', 'full', 2],
      ['20261205-093000F_20261205-100000I', 'incr', 2],
    ]);
    expect(info.backups[0]).toMatchObject({
      startedAt: '2026-12-05T08:00:00.000Z',
      stoppedAt: '2026-12-05T08:00:10.000Z',
      databaseBytes: 1000,
      repositoryBytes: 100,
    });
    expect(info).toMatchObject({
      archiveMin: '000000010000000000000001',
      archiveMax: '000000030000000000000012',
      status: { code: 0, message: 'ok' },
    });
    expect(() => parseStanzaInfo('not json', 'db')).toThrow(/did not answer JSON/);
    expect(() => parseStanzaInfo('[]', 'db')).toThrow(/knows no stanza db/);
    expect(() => parseStanzaInfo(JSON.stringify([{ name: 'db', backup: [{ label: 'x', type: 'weird' }] }]), 'db')).toThrow(/cannot read/);
  });

  it('starts a restore to a time from the newest backup on the cluster’s history, never from an abandoned one', () => {
    // Timeline 3 branched from 2 at 0/9000000, which branched from 1 at 0/5000000.
    const history = parseTimelineHistory(3, '1\t0/5000000\tbefore 2026-12-05 08:30:00+00\n2\t0/9000000\tbefore 2026-12-05 09:50:00+00\n');
    expect(history).toEqual({
      timeline: 3,
      parents: [
        { timeline: 1, switchLsn: '0/5000000' },
        { timeline: 2, switchLsn: '0/9000000' },
      ],
    });
    // The incremental on timeline 2 stopped after the branch to 3: it is not on this history.
    expect(baseBackupFor(info, history, '2026-12-05T10:30:00Z')?.label).toBe('20261205-093000F');
    // Nor is timeline 1's incremental, taken after timeline 2 left it.
    expect(baseBackupFor(info, history, '2026-12-05T09:10:00Z')?.label).toBe('20261205-080000F');
    expect(baseBackupFor(info, history, '2026-12-05T07:00:00Z')).toBeUndefined();
    // On timeline 1 alone, every backup of it counts.
    expect(baseBackupFor(info, parseTimelineHistory(1, undefined), '2026-12-05T09:10:00Z')?.label).toBe('20261205-080000F_20261205-090000I');
  });

  it('reads verify’s report, not its exit: errors, invalid backups and missing files fail it', () => {
    const ok = [
      'stanza: db',
      'status: ok',
      '  archiveId: 15-1, total WAL checked: 4, total valid WAL: 4',
      '  backup: 20261205-080000F, status: valid, total files checked: 965, total valid files: 965',
      '    missing: 0, checksum invalid: 0, size invalid: 0, other: 0',
    ].join('\n');
    expect(verifyProblems(ok)).toEqual([]);
    expect(verifyProblems(`2026-12-05 08:00:00.000 P00  ERROR: [028]: invalid checksum\n${ok}`)).toEqual(['ERROR: [028]: invalid checksum']);
    expect(verifyProblems(ok.replace('status: valid', 'status: invalid').replace('checksum invalid: 0', 'checksum invalid: 3'))).toEqual([
      'backup: 20261205-080000F, status: invalid, total files checked: 965, total valid files: 965',
      'missing: 0, checksum invalid: 3, size invalid: 0, other: 0',
    ]);
    expect(verifyProblems(ok.replace('status: ok', 'status: error'))).toEqual(['status: error']);
    expect(verifyProblems('')).toEqual(['pgbackrest verify did not report "status: ok"']);
  });

  it('makes the daily backup a full once a week, else a differential, and the ones between incrementals', () => {
    const now = new Date('2026-12-05T03:00:00Z');
    expect(scheduledBackupType('daily', [], now, 7)).toBe('full');
    expect(scheduledBackupType('incremental', [], now, 7)).toBe('full');
    const fullOn = (iso: string) => [{ type: 'full' as const, startedAt: iso }];
    expect(scheduledBackupType('daily', fullOn('2026-11-28T03:10:00Z'), now, 7)).toBe('full');
    expect(scheduledBackupType('daily', fullOn('2026-11-29T03:00:00Z'), now, 7)).toBe('diff');
    expect(scheduledBackupType('incremental', fullOn('2026-11-29T03:00:00Z'), now, 7)).toBe('incr');
  });

  it('names a target time in pgBackRest’s own form', () => {
    expect(pgbackrestTime('2026-12-05T08:30:00.123Z')).toBe('2026-12-05 08:30:00.123+00');
    expect(pgbackrestTime('2026-12-05T09:30:00+01:00')).toBe('2026-12-05 08:30:00.000+00');
  });
});
