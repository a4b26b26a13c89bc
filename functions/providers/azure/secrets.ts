import { NotFound } from '@cloudseed/shared/errors';
import { certificateAuthorityParameterFor } from '@cloudseed/shared/targets/aws/scripts';
import { secretIdFor } from '@cloudseed/shared/targets/node-scripts';
import { certificatePemOf } from '../certificates.ts';
import { generatePassword, newCertificateAuthority } from '../secret-values.ts';
import { PermanentError } from '../errors.ts';
import { deleteResource, readResource, waitProvisioned, writeResource } from './arm.ts';
import type { ArmBody } from './arm.ts';
import type { AzureContext } from './clients.ts';
import { azureErrorCode, azureStatus, call } from './errors.ts';

// Secrets on Azure: one key vault per component, which its nodes' managed identity and CloudSeed's
// app read by role (azure-json keyVaultFor). The provider writes every secret the
// node scripts read once, through the management plane (a PUT of the secret's value through ARM),
// and never overwrites one: a server already uses it. The application role's password, the plan's
// certificate authority (certificate and key, one copy per component's vault since a node reads its
// own vault only), the pgBackRest repository's passphrase and a cluster's replication, Patroni and
// rewind passwords. Reading one back goes through the vault's data plane.

const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

/** The password path the component's scripts name (azure-json renders the same), and the vault's names for it and for the CA. */
export function secretNamesOf({ target, component }: AzureContext): { password: string; certificateAuthority: string } {
  const passwordParameter = `/cloudseed/${target.planId}/${component.id}/password`;
  return { password: component.keyVault.secretName, certificateAuthority: secretIdFor(certificateAuthorityParameterFor(passwordParameter)) };
}

export async function ensureSecrets(context: AzureContext): Promise<void> {
  const { keyVault } = context.component;
  await ensureVault(context);
  const { certificateAuthority } = secretNamesOf(context);
  for (const name of keyVault.secretNames) {
    const id = `${keyVault.id}/secrets/${name}`;
    // The management plane answers a secret's metadata, never its value: enough to know it is there.
    if (await readResource(context, id, keyVault.secret.apiVersion)) continue;
    const value = name === certificateAuthority ? await newCertificateAuthority(context.target.planId) : generatePassword();
    await writeResource(context, id, keyVault.secret.apiVersion, { properties: { value } });
  }
}

export async function readPassword(context: AzureContext): Promise<string> {
  const { target, component } = context;
  const value = await readSecret(context, secretNamesOf(context).password);
  if (value === undefined) throw new NotFound(`the password of ${target.planId}/${component.id} does not exist (not deployed yet?)`);
  return value;
}

export async function readCaCertificate(context: AzureContext): Promise<string> {
  const value = await readSecret(context, secretNamesOf(context).certificateAuthority);
  if (value === undefined) throw new NotFound(`the certificate authority of ${context.target.planId} does not exist (not deployed yet?)`);
  return certificatePemOf(value);
}

/** Deletes the vault and with it every secret. Purge protection keeps it, soft-deleted, for 90 days: a deployment of the same plan within them recovers it. */
export function removeVault(context: AzureContext, signal: AbortSignal): Promise<void> {
  const { keyVault } = context.component;
  return deleteResource(context, keyVault.id, keyVault.apiVersion, signal);
}

/**
 * Creates the vault when it does not exist, in the subscription's tenant. A vault this plan had
 * before is soft-deleted and keeps its name: ARM refuses to create it again (409) and it is
 * recovered instead, secrets and all.
 */
export async function ensureVault(context: AzureContext): Promise<ArmBody> {
  const { keyVault } = context.component;
  const existing = await readResource(context, keyVault.id, keyVault.apiVersion);
  if (existing) return waitProvisioned(context, keyVault.id, keyVault.apiVersion, existing);
  const tenantId = await tenantOf(context);
  const body = (createMode?: string) => ({
    ...keyVault.body,
    properties: { ...(keyVault.body['properties'] as Record<string, unknown>), tenantId, ...(createMode ? { createMode } : {}) },
  });
  let written: ArmBody;
  try {
    written = await writeResource(context, keyVault.id, keyVault.apiVersion, body());
  } catch (error) {
    if (azureStatus(error) !== 409 || azureErrorCode(error) !== 'ConflictError') throw error;
    written = await writeResource(context, keyVault.id, keyVault.apiVersion, body('recover'));
  }
  return waitProvisioned(context, keyVault.id, keyVault.apiVersion, written);
}

/** The tenant the subscription belongs to: the vault trusts tokens of that tenant only. */
async function tenantOf(context: AzureContext): Promise<string> {
  const id = `/subscriptions/${context.where.subscriptionId}`;
  const subscription = await readResource(context, id, SUBSCRIPTIONS_API_VERSION);
  const tenantId = subscription?.['tenantId'];
  if (typeof tenantId !== 'string') throw new PermanentError(`subscription ${context.where.subscriptionId} names no tenant`);
  return tenantId;
}

/** A secret's value from the vault's data plane; undefined when it does not exist. */
async function readSecret(context: AzureContext, name: string): Promise<string | undefined> {
  const { keyVault } = context.component;
  try {
    const secret = await call(`Microsoft.KeyVault/vaults/secrets/getSecret/action ${keyVault.name}/${name}`, () =>
      context.clients.secrets(keyVault.name).getSecret(name),
    );
    return secret.value;
  } catch (error) {
    if (azureStatus(error) === 404) return undefined;
    throw error;
  }
}
