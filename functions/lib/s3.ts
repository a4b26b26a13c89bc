import { S3Client } from '@aws-sdk/client-s3';

// One S3 client per container, for the local cloud's objects: s3rver, which stores the SDK's
// chunked checksum framing as object content unless checksums are only computed when an API
// requires them. (On AWS, backups are in the customer's own bucket, reached with their role: see
// lib/backups.ts.)

const endpoint = process.env.S3_ENDPOINT;

export const s3 = new S3Client(
  endpoint ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {},
);

/** The local cloud's backup bucket (BACKUP_BUCKET, s3rver's). */
export function localBackupBucket(): string {
  const bucket = process.env.BACKUP_BUCKET;
  if (!bucket) throw new Error('environment variable BACKUP_BUCKET is required for backups of local plans');
  return bucket;
}
