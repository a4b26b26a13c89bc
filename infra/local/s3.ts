import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import S3rver from 's3rver';
import type { LocalCredentials } from './aws.ts';
import { browserRefusal } from './browser-guard.ts';
import { LOOPBACK, origin } from './ports.ts';
import { checkSignature } from './sigv4.ts';

// S3 for the local cloud: s3rver on a free loopback port, objects under CLOUDSEED_HOME/s3.
//
// s3rver on its own serves anyone: unsigned requests are let through, a V4 signature is never
// checked (only its access key id is looked up), and a well-known key pair (S3RVER/S3RVER) is
// built in. So the first middleware here checks every request's signature against the
// installation's credentials, and refuses web pages; s3rver's own key list holds only those
// credentials, should a request ever reach its check.

export const BACKUP_BUCKET = 'cloudseed-backups';

export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

function acceptOnly(credentials: LocalCredentials): void {
  const account = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: {
      accessKeys: Map<string, string>;
      createKeyPair(accessKeyId: string, secretAccessKey: string): void;
      revokeAccessKey(accessKeyId: string): void;
    };
  };
  for (const accessKeyId of [...account.DUMMY_ACCOUNT.accessKeys.keys()]) account.DUMMY_ACCOUNT.revokeAccessKey(accessKeyId);
  account.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export async function startS3(home: string, credentials: LocalCredentials): Promise<LocalS3> {
  acceptOnly(credentials);
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
  server.middleware.unshift(async (context, next) => {
    const request = context.req;
    const refusal = browserRefusal(request.headers);
    const check =
      refusal === undefined
        ? checkSignature({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers }, credentials)
        : undefined;
    if (refusal === undefined && check?.ok === true) return next();
    context.status = 403;
    context.type = 'application/xml';
    context.body = s3Error('AccessDenied', refusal ?? `Access Denied: ${check?.ok === false ? check.reason : 'not signed'}.`);
  });
  const { port } = await server.run();
  return { endpoint: origin(LOOPBACK, port), close: () => server.close() };
}
