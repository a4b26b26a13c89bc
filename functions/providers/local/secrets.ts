import { createHash, createHmac, pbkdf2, randomBytes, randomInt } from 'node:crypto';
import { link, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { GENERATED_PASSWORD_PATTERN, SCRAM_ITERATIONS, scramVerifierText } from '@cloudseed/shared/postgres/admin-session';
import { certificatePemOf, createCertificateAuthority, privateKeyPemOf } from '../certificates.ts';
import type { KeyAndCertificate } from '../certificates.ts';
import { ensureDir, readTextIfExists } from './files.ts';
import { PermanentError } from '../errors.ts';

// Passwords and the plans' certificate authorities under CLOUDSEED_HOME/secrets: the local stand-in
// for SSM Parameter Store. Only root (the local cloud) reads them; the servers get a SCRAM verifier,
// never the password itself, and a certificate the CA signed, never the CA's key.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const PASSWORD_LENGTH = 32;
const PASSWORD_SHAPE = new RegExp(GENERATED_PASSWORD_PATTERN);
const pbkdf2Async = promisify(pbkdf2);

export function generatePassword(length = PASSWORD_LENGTH): string {
  return Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
}

/** Creates the secret once: a second caller, or a retried step, keeps the first one's password. */
export async function ensureSecret(file: string): Promise<void> {
  await createOnce(file, () => `${generatePassword()}\n`);
}

export async function readSecret(file: string, what: string): Promise<string> {
  const text = await readTextIfExists(file);
  if (text === undefined) throw new PermanentError(`${what} has not been created yet (ensurePassword runs first)`);
  const password = text.trim();
  if (!PASSWORD_SHAPE.test(password)) throw new PermanentError(`${what} in ${file} is not a CloudSeed-generated password`);
  return password;
}

/** The plan's certificate authority, made once: its certificate and key in one 0600 file. */
export async function ensureCertificateAuthority(file: string, commonName: string): Promise<void> {
  await createOnce(file, async () => {
    const authority = await createCertificateAuthority(commonName);
    return `${authority.certificatePem}${authority.privateKeyPem}`;
  });
}

export async function readCertificateAuthority(file: string, what: string): Promise<KeyAndCertificate> {
  const text = await readTextIfExists(file);
  if (text === undefined) throw new PermanentError(`${what} has not been created yet (ensurePassword runs first)`);
  try {
    return { certificatePem: certificatePemOf(text), privateKeyPem: privateKeyPemOf(text) };
  } catch (error) {
    throw new PermanentError(`${what} in ${file} is not a CloudSeed certificate authority: ${(error as Error).message}`, { cause: error });
  }
}

/** Writes the file unless it exists; of two racing callers exactly one content wins (link() fails when the name exists). */
async function createOnce(file: string, content: () => string | Promise<string>): Promise<void> {
  await ensureDir(dirname(file), 0o700);
  if ((await readTextIfExists(file)) !== undefined) return;
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, await content(), { mode: 0o600, flag: 'wx' });
    await link(temporary, file).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, as in pg_authid), so that
 * `ALTER ROLE ... PASSWORD` carries no secret a statement log or an error report could leak.
 * The passwords are ASCII letters and digits, which SASLprep leaves as they are. The salt is random;
 * a test passes one to compare with the EC2 nodes' computation (SCRAM_VERIFIER_PYTHON).
 */
export async function scramVerifier(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return scramVerifierText({ salt: salt.toString('base64'), storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') });
}
