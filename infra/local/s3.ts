import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createCertificateAuthority, issueServerCertificate } from '@cloudseed/functions/providers/certificates';
import S3rver from 's3rver';
import type { LocalCredentials } from './aws.ts';
import { browserRefusal } from './browser-guard.ts';
import { LOOPBACK, origin } from './ports.ts';
import { checkSignature } from './sigv4.ts';

// S3 for the local cloud: s3rver on a free loopback port, objects under CLOUDSEED_HOME/s3.
//
// The same s3rver also answers over TLS on a second port, as `localhost` with a certificate from
// the installation's own CA: pgBackRest (2.45) speaks only HTTPS to S3, and checks the certificate
// against the CA file it is given (an address in the certificate does not match; the name does).
//
// s3rver on its own serves anyone: unsigned requests are let through, a V4 signature is never
// checked (only its access key id is looked up), and a well-known key pair (S3RVER/S3RVER) is
// built in. So the first middleware here checks every request's signature against the
// installation's credentials, and refuses web pages; s3rver's own key list holds only those
// credentials, should a request ever reach its check.

export const BACKUP_BUCKET = 'cloudseed-backups';

export interface LocalS3 {
  readonly endpoint: string;
  /** The same service over TLS, for pgBackRest: host `localhost`, the port, and the CA certificate (readable by everyone). */
  readonly tls: { readonly host: 'localhost'; readonly port: number; readonly caFile: string };
  close(): Promise<void>;
}

const TLS_HOST = 'localhost';

/**
 * The CA's certificate (under tls/, which the postgres OS user may read: pgBackRest runs as it) and
 * the server's key and certificate (under keys/, root's alone), made once per installation and
 * renewed with a new CA when a year has passed.
 */
async function tlsFiles(home: string): Promise<{ key: string; cert: string; caFile: string }> {
  const publicDir = join(home, 'tls');
  const caFile = join(publicDir, 's3-ca.crt');
  const keyFile = join(home, 'keys', 's3-tls.key');
  const certFile = join(home, 'keys', 's3-tls.crt');
  await mkdir(publicDir, { recursive: true, mode: 0o711 });
  await chmod(publicDir, 0o711);
  await mkdir(join(home, 'keys'), { recursive: true, mode: 0o700 });
  const existing = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8'), readFile(caFile, 'utf8')]).catch(() => undefined);
  const current = existing && Date.parse(new X509Certificate(existing[1]).validTo) - Date.now() > 30 * 24 * 60 * 60 * 1000;
  if (existing && current) return { key: existing[0], cert: existing[1], caFile };
  const authority = await createCertificateAuthority('CloudSeed local cloud S3');
  const issued = await issueServerCertificate(authority, [TLS_HOST]);
  await writeFile(keyFile, issued.privateKeyPem, { mode: 0o600 });
  await writeFile(certFile, issued.certificatePem, { mode: 0o600 });
  await writeFile(caFile, authority.certificatePem, { mode: 0o644 });
  await chmod(caFile, 0o644);
  return { key: issued.privateKeyPem, cert: issued.certificatePem, caFile };
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

type ListingStore = S3rver['store'];

/** True when a directory of the store holds an object anywhere beneath it. */
async function holdsObject(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isFile() && entry.name.endsWith('._S3rver_object')) return true;
    if (entry.isDirectory() && (await holdsObject(join(dir, entry.name)))) return true;
  }
  return false;
}

/**
 * Two fixes to s3rver 3's listings, which pgBackRest and the local provider rely on:
 * - a listing is answered whole: a truncated one needs a continuation token, which s3rver makes
 *   with DES, a cipher OpenSSL 3 refuses (a 500 for any listing past 1000 keys);
 * - a delimited listing leaves out a common prefix when nothing sits right inside it, only deeper
 *   ("archive/<stanza>/" lists no "15-1/" whose objects are all in "15-1/0000000100000000/"):
 *   pgBackRest's verify then finds no WAL to check. The missing prefixes are added from the directories.
 */
function fixListings(store: ListingStore, directory: string): void {
  const list = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const listing = await list(bucket, { ...options, maxKeys: Number.POSITIVE_INFINITY });
    const { delimiter = '', prefix = '', startAfter = '' } = options;
    if (delimiter !== '/' || listing.isTruncated) return listing;
    const cut = prefix.lastIndexOf('/') + 1;
    const parent = prefix.slice(0, cut);
    const found = new Set(listing.commonPrefixes);
    for (const entry of await readdir(join(directory, bucket, parent), { withFileTypes: true }).catch(() => [])) {
      const candidate = `${parent}${entry.name}/`;
      if (!entry.isDirectory() || found.has(candidate) || !candidate.startsWith(prefix) || candidate <= startAfter) continue;
      if (await holdsObject(join(directory, bucket, parent, entry.name))) found.add(candidate);
    }
    return { ...listing, commonPrefixes: [...found].sort() };
  };
}

function s3Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

export async function startS3(home: string, credentials: LocalCredentials): Promise<LocalS3> {
  acceptOnly(credentials);
  const directory = join(home, 's3');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const server = new S3rver({ address: LOOPBACK, port: 0, directory, silent: true, configureBuckets: [{ name: BACKUP_BUCKET, configs: [] }] });
  fixListings(server.store, directory);
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
  const tls = await tlsFiles(home);
  const secure = createServer({ key: tls.key, cert: tls.cert }, server.callback());
  await new Promise<void>((resolve, reject) => {
    secure.once('error', reject);
    secure.listen(0, LOOPBACK, () => resolve());
  });
  return {
    endpoint: origin(LOOPBACK, port),
    tls: { host: TLS_HOST, port: (secure.address() as AddressInfo).port, caFile: tls.caFile },
    close: async () => {
      const closed = new Promise<void>((resolve) => secure.close(() => resolve()));
      // pgBackRest keeps its connections open between requests: they must not hold the stop up.
      secure.closeAllConnections();
      await closed;
      await server.close();
    },
  };
}
