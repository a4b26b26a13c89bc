import { NotFound } from '@cloudseed/shared/errors';
import type { GcpComponent, GcpSecret } from '@cloudseed/shared/targets/gcp/index';
import { certificatePemOf } from '../certificates.ts';
import { generatePassword, newCertificateAuthority } from '../secret-values.ts';
import { body } from './clients.ts';
import type { GcpContext } from './clients.ts';
import { call, found, isAlreadyExists, isNotFound } from './errors.ts';

// Secrets on Google Cloud: Secret Manager secrets in the customer's project, kept in the plan's region
// only, each readable by the component's own service account (the nodes) and by nothing else the
// plan makes; the plan's certificate authority by every component's. A secret is made with its IAM
// policy, and then given its one version: a run that stopped between the two finds the secret with
// no version and adds it; a secret that has a version keeps it, since the servers already use it.

/** Every secret of the component, the value it starts with, and what it is (for messages). */
function componentSecrets(component: GcpComponent): { secret: GcpSecret; what: string }[] {
  return [
    { secret: component.secret, what: 'the application role password' },
    { secret: component.archiveCipherSecret, what: 'the pgBackRest repository passphrase' },
    ...(component.replicationSecret ? [{ secret: component.replicationSecret, what: 'the replication role password' }] : []),
    ...(component.patroni
      ? [
          { secret: component.patroni.restPasswordSecret, what: "Patroni's REST API password" },
          { secret: component.patroni.rewindPasswordSecret, what: 'the pg_rewind role password' },
        ]
      : []),
  ];
}

const secretName = (secret: GcpSecret): string => `${secret.parent}/secrets/${secret.secretId}`;

export async function ensurePassword(context: GcpContext): Promise<void> {
  const { component, certificateAuthority, target } = context;
  for (const { secret } of componentSecrets(component)) {
    await ensureSecret(context, secret, secret.iamPolicy.bindings, () => Promise.resolve(generatePassword()));
  }
  // The plan's CA is shared by its components: each adds its own service account to the readers.
  await ensureSecret(context, certificateAuthority, await readersWith(context, certificateAuthority), () => newCertificateAuthority(target.planId));
}

async function ensureSecret(
  { clients: { secrets } }: GcpContext,
  secret: GcpSecret,
  bindings: GcpSecret['iamPolicy']['bindings'],
  value: () => Promise<string>,
): Promise<void> {
  const name = secretName(secret);
  try {
    await call('secretmanager.secrets.create', () =>
      secrets.createSecret({ parent: secret.parent, secretId: secret.secretId, secret: body(secret.secret) }),
    );
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  await call('secretmanager.secrets.setIamPolicy', () => secrets.setIamPolicy({ resource: name, policy: { bindings: body(bindings) } }));
  const versions = await call('secretmanager.secrets.versions.list', () =>
    secrets.listSecretVersions({ parent: name, filter: 'state:ENABLED' }, { autoPaginate: false }),
  );
  if ((versions[0] ?? []).length > 0) return;
  await call('secretmanager.secrets.addVersion', async () =>
    secrets.addSecretVersion({ parent: name, payload: { data: Buffer.from(await value(), 'utf8') } }),
  );
}

/** The CA secret's bindings with this component's service account among its readers, and the readers it has already. */
async function readersWith(context: GcpContext, authority: GcpSecret): Promise<GcpSecret['iamPolicy']['bindings']> {
  const [policy] =
    (await found('secretmanager.secrets.getIamPolicy', () => context.clients.secrets.getIamPolicy({ resource: secretName(authority) }))) ?? [];
  const role = authority.iamPolicy.bindings[0]!.role;
  const current = policy?.bindings?.find((binding: { role?: string | null }) => binding.role === role)?.members ?? [];
  const members = [...new Set([...current, ...authority.iamPolicy.bindings.flatMap((binding) => binding.members)])].sort();
  return [{ role, members }];
}

async function latest({ clients: { secrets } }: GcpContext, secret: GcpSecret, what: string): Promise<string> {
  try {
    const [version] = await call('secretmanager.secrets.versions.access', () =>
      secrets.accessSecretVersion({ name: `${secretName(secret)}/versions/latest` }),
    );
    const data = version.payload?.data;
    if (data === undefined || data === null) throw new NotFound(`${what} is empty`);
    return typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data).toString('utf8');
  } catch (error) {
    if (isNotFound(error)) throw new NotFound(`${what} does not exist (not deployed yet?)`);
    throw error;
  }
}

export function readPassword(context: GcpContext): Promise<string> {
  return latest(context, context.component.secret, `the password of ${context.target.planId}/${context.component.id}`);
}

export async function readCaCertificate(context: GcpContext): Promise<string> {
  return certificatePemOf(await latest(context, context.certificateAuthority, `the certificate authority of ${context.target.planId}`));
}

/**
 * Deletes every secret of the component, found by its labels (a Patroni cluster's too, if the plan
 * has left Patroni since), and the plan's CA: a torn-down plan's repository can no longer be
 * decrypted. Ones already gone are fine.
 */
export async function deleteSecrets(context: GcpContext): Promise<void> {
  const { component, certificateAuthority, clients, project, target } = context;
  const [listed] = await call('secretmanager.secrets.list', () =>
    clients.secrets.listSecrets({
      parent: `projects/${project}`,
      filter: `labels.cloudseed-plan-id=${target.planId} AND labels.cloudseed-component=${component.id}`,
    }),
  );
  const names = [...listed.flatMap((secret) => (secret.name ? [secret.name] : [])), secretName(certificateAuthority)];
  for (const name of names) await found('secretmanager.secrets.delete', () => clients.secrets.deleteSecret({ name }));
}
