// Backups as the customer sees them: one record per backup, proven by a restore when the plan
// asks for validation. The object itself lives in S3; the record says what is in it.

import type { ArchiveBackupType } from '../postgres/pgbackrest.ts';

export type BackupStatus = 'running' | 'succeeded' | 'failed';
/** physical: a pgBackRest backup, restored to any time with the archived WAL; logical: a pg_dump export to download. */
export type BackupKind = 'physical' | 'logical';
/** schedule: the daily backup; incremental: one of those between; restore: the full after a restore; manual: asked for. */
export type BackupTrigger = 'schedule' | 'incremental' | 'manual' | 'restore' | 'failover';
export type ValidationStatus = 'pending' | 'passed' | 'failed' | 'skipped';

export interface TableFingerprintRecord {
  readonly table: string;
  readonly rows: number;
  readonly checksum: string;
}

export interface BackupRecord {
  readonly ownerId: string;
  readonly planId: string;
  readonly backupId: string;
  readonly componentId: string;
  readonly trigger: BackupTrigger;
  /** Absent on backups made before continuous archiving: those are logical. */
  readonly kind?: BackupKind;
  /** Physical backups: what pgBackRest made, its label, when it stopped and the restore point its validation replays to. */
  readonly type?: ArchiveBackupType;
  readonly label?: string;
  readonly stoppedAt?: string;
  readonly restorePoint?: string;
  readonly databaseBytes?: number;
  readonly status: BackupStatus;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly location: { readonly bucket: string; readonly key: string };
  readonly sizeBytes?: number;
  readonly sha256?: string;
  readonly durationMs?: number;
  readonly serverVersion?: string;
  readonly tables?: readonly TableFingerprintRecord[];
  readonly validation: { readonly status: ValidationStatus; readonly detail?: string };
  readonly error?: string;
}

export interface BackupRepository {
  create(record: BackupRecord): Promise<void>;
  get(ownerId: string, planId: string, backupId: string): Promise<BackupRecord | undefined>;
  /** Newest first. */
  list(ownerId: string, planId: string, limit?: number): Promise<BackupRecord[]>;
  update(ownerId: string, planId: string, backupId: string, changes: Partial<Omit<BackupRecord, 'ownerId' | 'planId' | 'backupId'>>): Promise<void>;
  delete(ownerId: string, planId: string, backupId: string): Promise<void>;
}

/** Sortable by time, unique: `20261124T075400Z-3f9a1c2b`. */
export function newBackupId(now: Date, random: string): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${random.slice(0, 8)}`;
}

export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function backupKey(planId: string, componentId: string, backupId: string): string {
  return `plans/${planId}/${componentId}/${backupId}.dump`;
}

export const kindOf = (record: Pick<BackupRecord, 'kind'>): BackupKind => record.kind ?? 'logical';

/** What the API shows of a backup. */
export function backupResource(record: BackupRecord) {
  return {
    backupId: record.backupId,
    component: record.componentId,
    trigger: record.trigger,
    kind: kindOf(record),
    ...(record.type ? { type: record.type } : {}),
    ...(record.label ? { label: record.label } : {}),
    ...(record.stoppedAt ? { stoppedAt: record.stoppedAt } : {}),
    status: record.status,
    startedAt: record.startedAt,
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    ...(record.sizeBytes === undefined ? {} : { sizeBytes: record.sizeBytes }),
    ...(record.durationMs === undefined ? {} : { durationMs: record.durationMs }),
    ...(record.sha256 ? { sha256: record.sha256 } : {}),
    ...(record.serverVersion ? { serverVersion: record.serverVersion } : {}),
    ...(record.tables ? { tables: record.tables.length, rows: record.tables.reduce((sum, table) => sum + table.rows, 0) } : {}),
    validation: record.validation,
    ...(record.error ? { error: record.error } : {}),
  };
}

/** Backups past retention, oldest first; the newest good backup is always kept, whatever its age. */
export function expiredBackups(records: readonly BackupRecord[], retentionDays: number, now: Date): BackupRecord[] {
  const cutoff = now.getTime() - retentionDays * 24 * 60 * 60 * 1000;
  const newestGood = [...records]
    .filter((record) => record.status === 'succeeded' && record.validation.status !== 'failed')
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
  return records
    .filter((record) => record.status !== 'running' && record !== newestGood && new Date(record.startedAt).getTime() < cutoff)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
