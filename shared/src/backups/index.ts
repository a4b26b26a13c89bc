export { BACKUP_ID, backupKey, backupResource, expiredBackups, newBackupId } from './backups.ts';
export type { BackupRecord, BackupRepository, BackupStatus, TableFingerprintRecord, ValidationStatus } from './backups.ts';
