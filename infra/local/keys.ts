import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { access, chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalCredentials } from './aws.ts';

// The installation's secrets, made on its first start and kept under CLOUDSEED_HOME/keys (0600):
//
//   token-signing.private.json  the RSA key cognito-local signs tokens with, in the shape of
//                               cognito-local's own key file (it ships a private key every copy
//                               of the package shares, so anyone could mint tokens with it)
//   token-signing.jwks.json     its public half, the only key the API trusts; written again from
//                               the private key on every start, so the two never disagree
//   emulator-credentials.json   the access key the in-process SDK clients sign with
//
// Created by linking a finished temporary file into place: two starts racing on a new home agree
// on one key, and neither ever reads half a file.

/** The JWKS the functions verify access tokens against (functions/lib/auth.ts reads this path). */
export const TOKEN_JWKS_FILE = join('keys', 'token-signing.jwks.json');
const PRIVATE_KEY_FILE = join('keys', 'token-signing.private.json');
const CREDENTIALS_FILE = join('keys', 'emulator-credentials.json');
/** cognito-local names its key so in every token header; the JWKS must use the same kid. */
const KEY_ID = 'CognitoLocal';

export interface TokenSigningKey {
  /** Where cognito-local's preload (cognito-guard.ts) reads the private key from. */
  readonly privateKeyFile: string;
  readonly publicJwk: JsonWebKey & { kid: string; alg: string; use: string };
}

export interface InstallationKeys {
  readonly tokenSigning: TokenSigningKey;
  readonly credentials: LocalCredentials;
}

export async function installationKeys(home: string): Promise<InstallationKeys> {
  await mkdir(join(home, 'keys'), { recursive: true, mode: 0o700 });
  await chmod(join(home, 'keys'), 0o700);
  const [tokenSigning, credentials] = await Promise.all([tokenSigningKey(home), emulatorCredentials(home)]);
  return { tokenSigning, credentials };
}

async function tokenSigningKey(home: string): Promise<TokenSigningKey> {
  const privateKeyFile = join(home, PRIVATE_KEY_FILE);
  const text = await readOrCreate(privateKeyFile, () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: KEY_ID, alg: 'RS256', use: 'sig' };
    return JSON.stringify({ jwk, pem: privateKey.export({ format: 'pem', type: 'pkcs1' }) }, null, 2);
  });
  const { pem } = JSON.parse(text) as { pem: string };
  const publicJwk = { ...createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' }), kid: KEY_ID, alg: 'RS256', use: 'sig' };
  await writeAtomically(join(home, TOKEN_JWKS_FILE), JSON.stringify({ keys: [publicJwk] }, null, 2));
  return { privateKeyFile, publicJwk };
}

async function emulatorCredentials(home: string): Promise<LocalCredentials> {
  const text = await readOrCreate(join(home, CREDENTIALS_FILE), () =>
    JSON.stringify(
      { accessKeyId: `LOCAL${randomBytes(10).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') },
      null,
      2,
    ),
  );
  const { accessKeyId, secretAccessKey } = JSON.parse(text) as Partial<LocalCredentials>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string')
    throw new Error(`${join(home, CREDENTIALS_FILE)} is damaged; delete it to make new credentials`);
  return { accessKeyId, secretAccessKey };
}

/** The file's text; created from `make()` first if it does not exist. Private either way. */
async function readOrCreate(file: string, make: () => string): Promise<string> {
  if (!(await exists(file))) {
    const temporary = temporaryName(file);
    await writeFile(temporary, `${make()}\n`, { mode: 0o600 });
    try {
      await link(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
  }
  // A file copied in with looser permissions is made private again.
  await chmod(file, 0o600);
  return readFile(file, 'utf8');
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = temporaryName(file);
  await writeFile(temporary, `${text}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Unique per call: two starts in one process must not share a temporary file either. */
const temporaryName = (file: string) => `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
