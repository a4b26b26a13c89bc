import { X509Certificate } from 'node:crypto';
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMServiceException } from '@aws-sdk/client-ssm';
import { NotFound } from '@cloudseed/shared';
import { describe, expect, it } from 'vitest';
import { generatePassword } from '../../providers/aws/index.ts';
import {
  AWS_ACTIONS_PROVEN,
  BASE_TAGS,
  cluster,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  PASSWORD,
  provider,
  ssmMock,
  target,
} from '../support/aws.ts';

mockAws();

describe('passwords', () => {
  it('creates the password once as a SecureString that is never overwritten', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await provider().ensurePassword(target());

    const sent = inputs(ssmMock.commandCalls(PutParameterCommand));
    expect(sent).toEqual([
      {
        Name: '/cloudseed/p-1/db/password',
        Description: 'CloudSeed p-1/db: password of PostgreSQL role app',
        Value: expect.stringMatching(/^[A-Za-z0-9]{32}$/) as unknown,
        Type: 'SecureString',
        Overwrite: false,
        Tags: BASE_TAGS,
      },
      {
        Name: '/cloudseed/p-1/certificate-authority',
        Description: 'CloudSeed p-1/db: certificate authority of the plan (certificate and key)',
        Value: expect.stringMatching(
          /^-{5}BEGIN CERTIFICATE-{5}\n[\s\S]+-{5}END CERTIFICATE-{5}\n-{5}BEGIN RSA PRIVATE KEY-{5}\n[\s\S]+-{5}END RSA PRIVATE KEY-{5}\n$/,
        ) as unknown,
        Type: 'SecureString',
        Overwrite: false,
        Tags: BASE_TAGS,
      },
      {
        Name: '/cloudseed/p-1/db/archive-cipher-pass',
        Description: 'CloudSeed p-1/db: passphrase of the pgBackRest repository (aes-256-cbc)',
        Value: expect.stringMatching(/^[A-Za-z0-9]{32}$/) as unknown,
        Type: 'SecureString',
        Overwrite: false,
        Tags: BASE_TAGS,
      },
    ]);
    // Two draws of the generator: the repository's passphrase is not the password.
    expect(sent[2]?.Value).not.toBe(sent[0]?.Value);
    const authority = sent[1]?.Value ?? '';
    // Within the standard tier's 4 KB, and a CA: the nodes sign their server certificates with it.
    expect(authority.length).toBeLessThan(4096);
    expect(new X509Certificate(authority).ca).toBe(true);
    expect(new X509Certificate(authority).subject).toContain('CloudSeed CA for plan p-1');
  });

  it('reads the CA certificate, never handing out its key', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    await provider().ensurePassword(target());
    const stored = inputs(ssmMock.commandCalls(PutParameterCommand))[1]?.Value ?? '';
    ssmMock
      .on(GetParameterCommand, { Name: '/cloudseed/p-1/certificate-authority', WithDecryption: true })
      .resolves({ Parameter: { Value: stored } });

    const certificate = await provider().readCaCertificate(target());

    expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(certificate).not.toContain('PRIVATE KEY');
    expect(stored.startsWith(certificate)).toBe(true);
  });

  it('also creates the replication password for a cluster', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await provider().ensurePassword(target(cluster));

    expect(inputs(ssmMock.commandCalls(PutParameterCommand)).map((input) => [input.Name, input.Type, input.Overwrite])).toEqual([
      ['/cloudseed/p-1/db/password', 'SecureString', false],
      ['/cloudseed/p-1/db/replication-password', 'SecureString', false],
      ['/cloudseed/p-1/certificate-authority', 'SecureString', false],
      ['/cloudseed/p-1/db/archive-cipher-pass', 'SecureString', false],
    ]);
  });

  it('keeps a password that already exists', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(new ParameterAlreadyExists({ $metadata: { httpStatusCode: 400 }, message: 'The parameter already exists.' }));

    await expect(provider().ensurePassword(target(cluster))).resolves.toBeUndefined();
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(4);
  });

  it('surfaces other SSM errors as permanent', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'no' }));

    await expect(provider().ensurePassword(target())).rejects.toMatchObject({ name: 'PermanentError', code: 'AccessDeniedException' });
  });

  it('generates 32 alphanumeric characters, differently each time', () => {
    const passwords = Array.from({ length: 20 }, generatePassword);

    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(passwords).size).toBe(20);
  });

  it('reads the password decrypted, and says NotFound when there is none', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Name: '/cloudseed/p-1/db/password', Value: PASSWORD } })
      .rejectsOnce(new ParameterNotFound({ $metadata: { httpStatusCode: 400 }, message: 'not found' }));
    const aws = provider();

    await expect(aws.readPassword(target())).resolves.toBe(PASSWORD);
    await expect(aws.readPassword(target())).rejects.toThrow(NotFound);
    expect(inputs(ssmMock.commandCalls(GetParameterCommand))).toEqual([
      { Name: '/cloudseed/p-1/db/password', WithDecryption: true },
      { Name: '/cloudseed/p-1/db/password', WithDecryption: true },
    ]);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.secrets);
