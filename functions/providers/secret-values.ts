import { randomInt } from 'node:crypto';
import { createCertificateAuthority } from './certificates.ts';

// The secret values a provider creates once per component, whatever the cloud keeps them in.

const PASSWORD_LENGTH = 32;
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters from [A-Za-z0-9], drawn with a CSPRNG (about 190 bits). */
export function generatePassword(): string {
  return Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
}

/** The plan's CA as the nodes read it: certificate, then key, in one secret (well under 4 KB). */
export async function newCertificateAuthority(planId: string): Promise<string> {
  const authority = await createCertificateAuthority(`CloudSeed CA for plan ${planId}`);
  return `${authority.certificatePem}${authority.privateKeyPem}`;
}
