import { DynamoBackupRepository } from './backups-repository.ts';
import { documentClient } from './dynamo.ts';
import { requireEnv } from './env.ts';
import { backupsTable } from './tables.ts';

export const backups = new DynamoBackupRepository(documentClient, requireEnv(backupsTable.env));
