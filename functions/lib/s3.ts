import { S3Client } from '@aws-sdk/client-s3';

// One S3 client per container. Locally it talks to s3rver, which stores the SDK's chunked
// checksum framing as object content unless checksums are only computed when an API requires them.

const endpoint = process.env.S3_ENDPOINT;

export const s3 = new S3Client(
  endpoint
    ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
    : {},
);

/** The bucket backups go to: BACKUP_BUCKET (the platform's on AWS, s3rver's locally). */
export function backupBucket(): string {
  const bucket = process.env.BACKUP_BUCKET;
  if (!bucket) throw new Error('environment variable BACKUP_BUCKET is required');
  return bucket;
}
