import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type Forge from 'node-forge';

// Every plan has its own certificate authority, and every PostgreSQL server of the plan presents a
// certificate it signed for the names and addresses clients use. Clients are handed the CA and
// `sslmode=verify-full`: libpq and node-postgres then check who answers, and a server of another
// plan (signed by another CA) is refused. The CA's key is kept like the passwords (SSM SecureString
// on AWS, 0600 under CLOUDSEED_HOME locally); the certificate is public.
//
// Keys come from node:crypto; node-forge only assembles and signs the certificates, which
// node:crypto cannot do. It is loaded when a certificate is made, not with the module: most
// functions that import this (the credentials route, say) only read certificates.

const CA_KEY_BITS = 2048;
const SERVER_KEY_BITS = 2048;
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
/** What browsers and most TLS stacks accept at most; servers are re-issued at a configure long before. */
const SERVER_VALIDITY_DAYS = 397;
/** A server certificate this close to its end is replaced at the next configure. */
const RENEW_BEFORE_DAYS = 30;
/** Clocks of clients and servers differ a little; a certificate is valid from a while before it was made. */
const BACKDATE_MS = 60 * 60 * 1000;

export interface KeyAndCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

const loadForge = async (): Promise<typeof Forge> => (await import('node-forge')).default;

export async function createCertificateAuthority(commonName: string, now = new Date()): Promise<KeyAndCertificate> {
  const forge = await loadForge();
  const keys = rsaKeys(forge, CA_KEY_BITS);
  const name = [
    { name: 'organizationName', value: 'CloudSeed' },
    { name: 'commonName', value: commonName },
  ];
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.publicKey;
  certificate.serialNumber = serialNumber();
  setValidity(certificate, now, CA_VALIDITY_DAYS);
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(keys.privateKey, forge.md.sha256.create());
  return { certificatePem: pemOf(forge, certificate), privateKeyPem: keys.privateKeyPem };
}

/** A server certificate signed by the CA for the given DNS names and IP addresses (the first is its common name). */
export async function issueServerCertificate(
  authority: KeyAndCertificate,
  hosts: readonly [string, ...string[]],
  now = new Date(),
): Promise<KeyAndCertificate> {
  const forge = await loadForge();
  const caCertificate = forge.pki.certificateFromPem(authority.certificatePem);
  const caKey = forge.pki.privateKeyFromPem(authority.privateKeyPem);
  const keys = rsaKeys(forge, SERVER_KEY_BITS);
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.publicKey;
  certificate.serialNumber = serialNumber();
  setValidity(certificate, now, SERVER_VALIDITY_DAYS);
  certificate.setSubject([{ name: 'commonName', value: hosts[0] }]);
  certificate.setIssuer(caCertificate.subject.attributes);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCertificate.generateSubjectKeyIdentifier().getBytes() },
  ]);
  certificate.sign(caKey, forge.md.sha256.create());
  return { certificatePem: pemOf(forge, certificate), privateKeyPem: keys.privateKeyPem };
}

/**
 * True when the pair can stay: the certificate was signed by this CA, names every host, is not
 * about to expire, and the key is its key. Anything unreadable is simply not current.
 */
export function isCurrentServerCertificate(pair: KeyAndCertificate, caCertificatePem: string, hosts: readonly string[], now = new Date()): boolean {
  try {
    const certificate = new X509Certificate(pair.certificatePem);
    const ca = new X509Certificate(caCertificatePem);
    if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return false;
    if (Date.parse(certificate.validTo) - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return false;
    if (!hosts.every((host) => (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host, { wildcards: false })) !== undefined))
      return false;
    const keyOfPair = createPublicKey(createPrivateKey(pair.privateKeyPem)).export({ type: 'spki', format: 'der' });
    return keyOfPair.equals(certificate.publicKey.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

/** The certificate part of a PEM bundle that also holds a key (the CA as stored). */
export function certificatePemOf(bundle: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(bundle);
  if (!match) throw new Error('the bundle holds no certificate');
  return `${match[0]}\n`;
}

/** The private key part of a PEM bundle. */
export function privateKeyPemOf(bundle: string): string {
  const match = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----/.exec(bundle);
  if (!match) throw new Error('the bundle holds no private key');
  return `${match[0]}\n`;
}

/** node-forge ends PEM lines with CRLF; files and SSM values keep plain newlines. */
const pemOf = (forge: typeof Forge, certificate: Forge.pki.Certificate): string => forge.pki.certificateToPem(certificate).replaceAll('\r\n', '\n');

function rsaKeys(forge: typeof Forge, bits: number) {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), privateKeyPem: privateKey };
}

/** 16 random bytes, the first bit clear so that the serial is a positive integer. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function setValidity(certificate: Forge.pki.Certificate, now: Date, days: number): void {
  certificate.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  certificate.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
}
