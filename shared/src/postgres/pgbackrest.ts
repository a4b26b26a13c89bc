import { quoteLiteral } from './sql.ts';

// Continuous archiving with pgBackRest, the same on every cloud: one stanza per cluster (named after
// the component) in a repository path per plan, one configuration file per instance, WAL pushed
// asynchronously and zstd-compressed, a segment switched at least every 55 s (archive_timeout: its upload
// finishes inside the minute, so the recovery point is never more than a minute old), and a
// heartbeat commit every 15 seconds so that any time in the window has a later commit to stop at.
// The targets say where the repository is (s3rver over TLS locally, the customer's bucket on AWS)
// and where the instance's files are; this module renders the rest and reads pgBackRest's answers.

export const ARCHIVE_TIMEOUT_SECONDS = 55;
export const HEARTBEAT_SECONDS = 15;
/** Schema and table of the heartbeat; the superuser writes it, nobody else may. */
export const HEARTBEAT_TABLE = 'cloudseed.heartbeat';

export type ArchiveBackupType = 'full' | 'diff' | 'incr';

export interface S3Repository {
  readonly bucket: string;
  /** Host name the certificate is issued to (s3.<region>.amazonaws.com on AWS, localhost here). */
  readonly endpoint: string;
  readonly region: string;
  /** Omitted for 443. */
  readonly port?: number;
  /** `auto`: the instance role's credentials (AWS); `shared`: the key pair given here. */
  readonly keyType: 'auto' | 'shared';
  readonly key?: string;
  readonly keySecret?: string;
  /** A CA bundle the endpoint's certificate verifies with (the local cloud's own CA). */
  readonly caFile?: string;
  readonly uriStyle: 'host' | 'path';
  /** aes-256-cbc passphrase of the repository (AWS); omitted for a repository only this machine reads. */
  readonly cipherPass?: string;
}

/** A Cloud Storage bucket, signed for by the VM's service account through the metadata server (key type auto, pgBackRest 2.34+). */
export interface GcsRepository {
  readonly kind: 'gcs';
  readonly bucket: string;
  readonly cipherPass?: string;
}

/** A blob container, signed for by the VM's managed identity (key type auto, pgBackRest 2.58+). */
export interface AzureRepository {
  readonly kind: 'azure';
  readonly account: string;
  readonly container: string;
  readonly cipherPass?: string;
}

/** Where a stanza's repository is: S3 (AWS and the local cloud's s3rver), Cloud Storage or Azure Blob Storage. */
export type Repository = (S3Repository & { readonly kind?: 's3' }) | GcsRepository | AzureRepository;

export interface PgbackrestInstance {
  readonly stanza: string;
  /** The repository path of the plan: `/pgbackrest/<planId>`. */
  readonly repoPath: string;
  readonly repository: Repository;
  readonly dataDir: string;
  readonly port: number;
  readonly socketDir?: string;
  /** Directories of this instance alone: spool (async archiving), logs, locks. */
  readonly spoolPath: string;
  readonly logPath: string;
  readonly lockPath: string;
  readonly retentionDays: number;
  readonly processMax: number;
}

export const repoPathFor = (planId: string): string => `/pgbackrest/${planId}`;

/** pgbackrest.conf for one instance. Values are single words or paths: a newline in one is refused. */
export function renderPgbackrestConf(instance: PgbackrestInstance): string {
  const repo = instance.repository;
  const { type, options } = repositoryOptions(repo);
  const global: Record<string, string | number | undefined> = {
    'repo1-type': type,
    'repo1-path': instance.repoPath,
    ...options,
    'repo1-cipher-type': repo.cipherPass === undefined ? undefined : 'aes-256-cbc',
    'repo1-cipher-pass': repo.cipherPass,
    'repo1-retention-full-type': 'time',
    'repo1-retention-full': instance.retentionDays,
    'compress-type': 'zst',
    'compress-level': 3,
    'archive-async': 'y',
    'archive-push-queue-max': '4GiB',
    'spool-path': instance.spoolPath,
    'log-path': instance.logPath,
    'lock-path': instance.lockPath,
    'log-level-console': 'warn',
    'log-level-stderr': 'off',
    'log-level-file': 'info',
    'process-max': instance.processMax,
    'start-fast': 'y',
    delta: 'y',
  };
  const stanza: Record<string, string | number | undefined> = {
    'pg1-path': instance.dataDir,
    'pg1-port': instance.port,
    'pg1-socket-path': instance.socketDir,
    'pg1-user': 'postgres',
  };
  return [
    '# Written by CloudSeed: continuous archiving and backups of this instance.',
    '[global]',
    ...optionLines(global),
    '',
    `[${word(instance.stanza, 'stanza')}]`,
    ...optionLines(stanza),
    '',
  ].join('\n');
}

/** The repository's type and where it is, as pgBackRest's repo1-* options. */
function repositoryOptions(repo: Repository): { type: 's3' | 'gcs' | 'azure'; options: Record<string, string | number | undefined> } {
  switch (repo.kind) {
    case 'gcs':
      return { type: 'gcs', options: { 'repo1-gcs-bucket': repo.bucket, 'repo1-gcs-key-type': 'auto' } };
    case 'azure':
      return {
        type: 'azure',
        options: { 'repo1-azure-account': repo.account, 'repo1-azure-container': repo.container, 'repo1-azure-key-type': 'auto' },
      };
    default:
      return {
        type: 's3',
        options: {
          'repo1-s3-bucket': repo.bucket,
          'repo1-s3-endpoint': repo.endpoint,
          'repo1-s3-region': repo.region,
          'repo1-s3-uri-style': repo.uriStyle,
          'repo1-s3-key-type': repo.keyType,
          'repo1-s3-key': repo.key,
          'repo1-s3-key-secret': repo.keySecret,
          'repo1-storage-port': repo.port,
          'repo1-storage-ca-file': repo.caFile,
        },
      };
  }
}

function optionLines(options: Record<string, string | number | undefined>): string[] {
  return Object.entries(options)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${word(String(value), key)}`);
}

function word(value: string, what: string): string {
  if (/[\n\r]/.test(value) || value.trim() !== value || value === '') throw new Error(`pgBackRest ${what} ${JSON.stringify(value)} is not one line`);
  return value;
}

/** The server settings that archive through the instance's pgBackRest config (and fetch from it in recovery). */
export function archiveSettings(configFile: string, stanza: string): Record<string, string> {
  const pgbackrest = `pgbackrest --config=${configFile} --stanza=${stanza}`;
  return {
    wal_level: 'replica',
    archive_mode: 'on',
    archive_command: quoteLiteral(`${pgbackrest} archive-push %p`),
    archive_timeout: String(ARCHIVE_TIMEOUT_SECONDS),
    restore_command: quoteLiteral(`${pgbackrest} archive-get %f "%p"`),
  };
}

/**
 * SQL the heartbeat runs as the superuser: one row a beat, an hour of them kept, with the WAL
 * position. The schema and table are made (and the schema closed to PUBLIC) only when missing: a
 * REVOKE on every beat rewrote the schema's catalog row, and two beats at once (the periodic one and
 * a restore's) then failed with "tuple concurrently updated".
 */
export const HEARTBEAT_SQL = [
  'SET client_min_messages = warning;',
  "DO $heartbeat$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'cloudseed') THEN",
  'CREATE SCHEMA IF NOT EXISTS cloudseed; REVOKE ALL ON SCHEMA cloudseed FROM PUBLIC; END IF; END $heartbeat$;',
  `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (at timestamptz PRIMARY KEY, lsn pg_lsn NOT NULL);`,
  `INSERT INTO ${HEARTBEAT_TABLE} VALUES (clock_timestamp(), pg_current_wal_insert_lsn()) ON CONFLICT DO NOTHING;`,
  `DELETE FROM ${HEARTBEAT_TABLE} WHERE at < now() - interval '1 hour';`,
].join(' ');

/**
 * The newest time a restore can reach (ISO, or '' when nothing is archived yet): just before the
 * newest heartbeat whose commit is in an archived segment, so that recovery finds a later commit to
 * stop at. Run on the primary as the superuser. The last file archived may be a backup's history
 * file (`<segment>.<offset>.backup`) or a promotion's `.partial`: the segments before the one it
 * names are archived then, not that one.
 */
export const LATEST_RECOVERABLE_SQL = [
  'WITH archived AS (',
  "  SELECT ('x' || substr(last_archived_wal, 9, 8))::bit(32)::bigint::numeric * 4294967296",
  "       + (('x' || substr(last_archived_wal, 17, 8))::bit(32)::bigint + CASE WHEN last_archived_wal ~ '^[0-9A-F]{24}$' THEN 1 ELSE 0 END)",
  "         * (SELECT setting::numeric FROM pg_settings WHERE name = 'wal_segment_size') AS wal_end",
  "    FROM pg_stat_archiver WHERE last_archived_wal ~ '^[0-9A-F]{24}')",
  `SELECT COALESCE(to_char((max(h.at) - interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '')`,
  `  FROM ${HEARTBEAT_TABLE} h, archived WHERE (h.lsn - '0/0'::pg_lsn) + 8192 < archived.wal_end;`,
].join('\n');

/** pgBackRest picks the backup set for a time target only when the time is in its own form: `2026-12-05 08:30:00.123+00`. */
export const pgbackrestTime = (iso: string): string => new Date(iso).toISOString().replace('T', ' ').replace('Z', '+00');

/**
 * pgBackRest writes the recovery settings into postgresql.auto.conf; once the server is promoted
 * they are dead weight, and worse in a clone: a replica copied with them would recover to the same
 * target and promote itself. Run as the superuser after the promotion; the server's own
 * restore_command (from its config) applies again.
 */
export const CLEAR_RECOVERY_SQL = [
  'restore_command',
  'recovery_target',
  'recovery_target_time',
  'recovery_target_name',
  'recovery_target_lsn',
  'recovery_target_xid',
  'recovery_target_action',
  'recovery_target_timeline',
  'recovery_target_inclusive',
  'archive_mode',
]
  .map((name) => `ALTER SYSTEM RESET ${name};`)
  .concat('SELECT pg_catalog.pg_reload_conf();')
  .join(' ');

// --- pgBackRest's answers -------------------------------------------------------------------------

export interface ArchiveBackupInfo {
  readonly label: string;
  readonly type: ArchiveBackupType;
  /** ISO times the backup started and stopped. */
  readonly startedAt: string;
  readonly stoppedAt: string;
  /** Size of the database at the backup, and of what this backup added to the repository. */
  readonly databaseBytes: number;
  readonly repositoryBytes: number;
  readonly walStart: string;
  readonly walStop: string;
  /** The timeline it was taken on (its first WAL segment's), and where it stopped. */
  readonly timeline: number;
  readonly lsnStop: string;
}

export interface StanzaInfo {
  readonly backups: readonly ArchiveBackupInfo[];
  /** The oldest and newest WAL segments in the repository, across its database histories. */
  readonly archiveMin?: string;
  readonly archiveMax?: string;
  readonly status: { readonly code: number; readonly message: string };
}

interface InfoJson {
  name?: unknown;
  status?: { code?: unknown; message?: unknown };
  backup?: {
    label?: unknown;
    type?: unknown;
    timestamp?: { start?: unknown; stop?: unknown };
    info?: { size?: unknown; repository?: { delta?: unknown } };
    archive?: { start?: unknown; stop?: unknown };
    lsn?: { start?: unknown; stop?: unknown };
  }[];
  archive?: { min?: unknown; max?: unknown }[];
}

/** Reads `pgbackrest info --output=json` for one stanza; an answer of another shape is an error. */
export function parseStanzaInfo(text: string, stanza: string): StanzaInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`pgbackrest info did not answer JSON: ${text.slice(0, 200)}`);
  }
  const entry = Array.isArray(parsed) ? (parsed as InfoJson[]).find((candidate) => candidate.name === stanza) : undefined;
  if (!entry) throw new Error(`pgbackrest info knows no stanza ${stanza}`);
  const backups = (entry.backup ?? []).map((backup): ArchiveBackupInfo => {
    const type = backup.type;
    const start = backup.timestamp?.start;
    const stop = backup.timestamp?.stop;
    if (
      typeof backup.label !== 'string' ||
      (type !== 'full' && type !== 'diff' && type !== 'incr') ||
      typeof start !== 'number' ||
      typeof stop !== 'number'
    ) {
      throw new Error(`pgbackrest info describes a backup of stanza ${stanza} it cannot read`);
    }
    return {
      label: backup.label,
      type,
      startedAt: new Date(start * 1000).toISOString(),
      stoppedAt: new Date(stop * 1000).toISOString(),
      databaseBytes: typeof backup.info?.size === 'number' ? backup.info.size : 0,
      repositoryBytes: typeof backup.info?.repository?.delta === 'number' ? backup.info.repository.delta : 0,
      walStart: typeof backup.archive?.start === 'string' ? backup.archive.start : '',
      walStop: typeof backup.archive?.stop === 'string' ? backup.archive.stop : '',
      timeline: typeof backup.archive?.start === 'string' ? Number.parseInt(backup.archive.start.slice(0, 8), 16) : 0,
      lsnStop: typeof backup.lsn?.stop === 'string' ? backup.lsn.stop : '',
    };
  });
  const mins = (entry.archive ?? []).map((archive) => archive.min).filter((name): name is string => typeof name === 'string');
  const maxes = (entry.archive ?? []).map((archive) => archive.max).filter((name): name is string => typeof name === 'string');
  return {
    backups,
    ...(mins.length > 0 ? { archiveMin: mins.sort()[0] } : {}),
    ...(maxes.length > 0 ? { archiveMax: maxes.sort().at(-1) } : {}),
    status: {
      code: typeof entry.status?.code === 'number' ? entry.status.code : -1,
      message: typeof entry.status?.message === 'string' ? entry.status.message : 'unknown',
    },
  };
}

/**
 * `pgbackrest verify --output=text --verbose` can print an error and still end "completed successfully": its
 * output is the verdict. Answers the problems it reported (empty when the repository checked out):
 * errors and warnings, a stanza or backup whose status is not ok/valid, non-zero counts of missing
 * or invalid files, and WAL ranges it flags.
 */
export function verifyProblems(output: string): string[] {
  const problems: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    const logged = /\b(ERROR|WARN)(?: \[\d+\])?: (.*)$/.exec(line);
    if (logged) problems.push(`${logged[1]}: ${logged[2]}`);
    else if (/^status: /.test(line) && line !== 'status: ok') problems.push(line);
    else if (/^backup: .*status: (?!valid\b)/.test(line)) problems.push(line);
    else if (/\b(missing|checksum invalid|size invalid|other): [1-9]/.test(line)) problems.push(line);
    else if (/^wal range: .*(missing|invalid)/i.test(line)) problems.push(line);
  }
  if (problems.length === 0 && !/^status: ok$/m.test(output)) problems.push('pgbackrest verify did not report "status: ok"');
  return [...new Set(problems)];
}

/** A timeline and the ones it branched from, each with the WAL position it left them at (a `.history` file). */
export interface TimelineHistory {
  readonly timeline: number;
  readonly parents: readonly { readonly timeline: number; readonly switchLsn: string }[];
}

/** Reads the history file of `timeline` (`<parent>\t<switch LSN>\t<reason>` a line); timeline 1 has none. */
export function parseTimelineHistory(timeline: number, text: string | undefined): TimelineHistory {
  const parents = (text ?? '')
    .split('\n')
    .map((line) => /^\s*(\d+)\s+([0-9A-F]+\/[0-9A-F]+)/i.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ timeline: Number(match[1]), switchLsn: String(match[2]) }));
  return { timeline, parents };
}

const lsnValue = (lsn: string): bigint => {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
};

/**
 * The backup a restore to `targetTime` starts from: the newest one that stopped before the time and
 * lies on the cluster's history — taken on its current timeline, or on a timeline it branched from
 * before the branch. pgBackRest's own choice (the newest that stopped before the time) may be a
 * backup of a history a restore abandoned, from which recovery cannot reach the current timeline.
 */
export function baseBackupFor(info: StanzaInfo, history: TimelineHistory, targetTime: string): ArchiveBackupInfo | undefined {
  const target = Date.parse(targetTime);
  const onHistory = (backup: ArchiveBackupInfo) => {
    if (backup.timeline === history.timeline) return true;
    const parent = history.parents.find((entry) => entry.timeline === backup.timeline);
    return parent !== undefined && backup.lsnStop !== '' && lsnValue(backup.lsnStop) <= lsnValue(parent.switchLsn);
  };
  return info.backups
    .filter((backup) => Date.parse(backup.stoppedAt) < target && onHistory(backup))
    .sort((a, b) => a.stoppedAt.localeCompare(b.stoppedAt))
    .at(-1);
}

/**
 * The earliest time a restore can reach: the end of the oldest backup still in the repository, a
 * second on (pgBackRest's stop time is whole seconds: the backup is consistent by then for certain).
 */
export function earliestRecoverable(info: StanzaInfo): string | undefined {
  const oldest = info.backups.map((backup) => backup.stoppedAt).sort()[0];
  return oldest === undefined ? undefined : new Date(Date.parse(oldest) + 1000).toISOString();
}

/**
 * What a scheduled backup is: the daily one a full when the newest full is `fullEveryDays` old (or
 * there is none), else a differential; the ones between are incrementals.
 */
export function scheduledBackupType(
  trigger: 'daily' | 'incremental',
  history: readonly { type: ArchiveBackupType; startedAt: string }[],
  now: Date,
  fullEveryDays: number,
): ArchiveBackupType {
  const fulls = history.filter((backup) => backup.type === 'full').map((backup) => Date.parse(backup.startedAt));
  const newestFull = Math.max(...fulls, Number.NEGATIVE_INFINITY);
  // Half an hour of slack: a full that ran a little late a week ago still counts as a week old.
  if (now.getTime() - newestFull >= fullEveryDays * 24 * 60 * 60 * 1000 - 30 * 60 * 1000) return 'full';
  return trigger === 'daily' ? 'diff' : 'incr';
}
