import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import S3rver from 's3rver';
import { LOCAL_CREDENTIALS } from './aws.ts';
import { LOOPBACK, origin } from './ports.ts';

// S3 for the local cloud: s3rver on a free loopback port, objects under CLOUDSEED_HOME/s3.

export const BACKUP_BUCKET = 'cloudseed-backups';

export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** s3rver knows one access key of its own; the local cloud's clients sign with LOCAL_CREDENTIALS. */
function acceptLocalCredentials(): void {
  const account = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
  };
  account.DUMMY_ACCOUNT.createKeyPair(LOCAL_CREDENTIALS.accessKeyId, LOCAL_CREDENTIALS.secretAccessKey);
}

export async function startS3(home: string): Promise<LocalS3> {
  acceptLocalCredentials();
  const directory = join(home, 's3');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const server = new S3rver({ address: LOOPBACK, port: 0, directory, silent: true, configureBuckets: [{ name: BACKUP_BUCKET, configs: [] }] });
  // s3rver 3 answers AbortMultipartUpload with 405 and keeps the parts on disk; a failed backup
  // aborts its upload, so stand in for the call as S3 does: drop the upload's parts, answer 204.
  server.middleware.unshift(async (context, next) => {
    const uploadId = context.query.uploadId;
    const bucket = /^\/([^/]+)\//.exec(context.path)?.[1];
    if (context.method !== 'DELETE' || typeof uploadId !== 'string' || !/^[\w-]+$/.test(uploadId) || bucket !== BACKUP_BUCKET) return next();
    await rm(join(directory, bucket, '._S3rver_uploads', uploadId), { recursive: true, force: true });
    context.status = 204;
  });
  const { port } = await server.run();
  return { endpoint: origin(LOOPBACK, port), close: () => server.close() };
}
