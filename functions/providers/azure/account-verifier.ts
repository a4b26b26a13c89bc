import type { TokenCredential } from '@azure/core-auth';
import { ResourceManagementClient } from '@azure/arm-resources';
import { createPipelineRequest } from '@azure/core-rest-pipeline';
import type { HttpClient, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import { AZURE_PROVIDER_ACTIONS, AZURE_PROVIDER_DATA_ACTIONS } from '@cloudseed/shared/targets/azure/actions';
import { BACKUP_RESOURCE_GROUP } from '@cloudseed/shared/targets/azure/azure-json';
import { AZURE_DEPLOYER_ROLE } from '@cloudseed/shared/targets/azure/connection';
import type { AzureConnection } from '@cloudseed/shared/targets/azure/connection';
import type { AzureAccountVerifier, CloudVerifyOutcome } from '@cloudseed/shared';
import { TransientError } from '../errors.ts';
import { ARM_ENDPOINT } from './arm.ts';

// Connecting a resource group proves the connection first, the way the workflows will use it:
// CloudSeed's app signs in to the customer's tenant (no consent there, or a federated credential
// that does not trust the platform, fails here), then ARM says what the app may do on the plans'
// group and on the backup group (Microsoft.Authorization/permissions: the effective actions of its
// role assignments there). An action missing now would fail a deploy halfway.

const ARM_SCOPE = `${ARM_ENDPOINT}/.default`;
const PERMISSIONS_API_VERSION = '2022-04-01';
const NAMED = 5;

interface Permission {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly dataActions?: readonly string[];
  readonly notDataActions?: readonly string[];
}

/** ARM's wildcard match: `*` stands for any run of characters; actions compare regardless of case. */
function matches(pattern: string, action: string): boolean {
  const expression = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${expression}$`, 'i').test(action);
}

/** Whether any one permission entry allows the action and does not carve it out again. */
function allowed(permissions: readonly Permission[], action: string, data: boolean): boolean {
  return permissions.some((permission) => {
    const allow = (data ? permission.dataActions : permission.actions) ?? [];
    const deny = (data ? permission.notDataActions : permission.notActions) ?? [];
    return allow.some((pattern) => matches(pattern, action)) && !deny.some((pattern) => matches(pattern, action));
  });
}

export interface AzureVerifierOptions {
  /** Sends every request (tests answer them in memory). Default: the SDK's own. */
  readonly httpClient?: HttpClient;
  readonly retry?: PipelineRetryOptions;
}

export class AzureGroupVerifier implements AzureAccountVerifier {
  readonly #credentialFor: (connection: AzureConnection) => TokenCredential;
  readonly #options: AzureVerifierOptions;

  constructor(credentialFor: (connection: AzureConnection) => TokenCredential, options: AzureVerifierOptions = {}) {
    this.#credentialFor = credentialFor;
    this.#options = options;
  }

  async verify(connection: AzureConnection): Promise<CloudVerifyOutcome> {
    const { tenantId, subscriptionId, resourceGroup } = connection;
    const credential = this.#credentialFor(connection);
    try {
      await credential.getToken(ARM_SCOPE);
    } catch (error) {
      return {
        ok: false,
        path: '/tenantId',
        message: `CloudSeed's app cannot sign in to tenant ${tenantId} (${firstLine(error)}): consent to it with the connection's first az step, in this tenant`,
      };
    }
    const client = new ResourceManagementClient(credential, subscriptionId, {
      retryOptions: this.#options.retry ?? { maxRetries: 2 },
      ...(this.#options.httpClient ? { httpClient: this.#options.httpClient } : {}),
    });
    for (const group of [resourceGroup, BACKUP_RESOURCE_GROUP]) {
      const scope = `/subscriptions/${subscriptionId}/resourceGroups/${group}`;
      const request = createPipelineRequest({
        url: `${ARM_ENDPOINT}${scope}/providers/Microsoft.Authorization/permissions?api-version=${PERMISSIONS_API_VERSION}`,
        method: 'GET',
      });
      const response = await client.sendRequest(request);
      const body = parse(response.bodyAsText) as { value?: Permission[]; error?: { code?: string; message?: string } } | undefined;
      if (response.status === 404 || body?.error?.code === 'ResourceGroupNotFound')
        return {
          ok: false,
          path: '/resourceGroup',
          message: `resource group ${group} does not exist in subscription ${subscriptionId}: create it with the connection's az step`,
        };
      if (response.status === 403 || response.status === 401)
        return {
          ok: false,
          path: '/subscriptionId',
          message: `CloudSeed's app may not read its permissions on ${group} in subscription ${subscriptionId} (${body?.error?.message ?? `HTTP ${response.status}`}): assign it the ${AZURE_DEPLOYER_ROLE} role there`,
        };
      if (response.status < 200 || response.status >= 300)
        throw new TransientError(
          `Azure answered HTTP ${response.status} for the permissions on ${group}: ${body?.error?.message ?? 'no reason given'}`,
        );
      const permissions = body?.value ?? [];
      const missing = [
        ...AZURE_PROVIDER_ACTIONS.filter((action) => !allowed(permissions, action, false)),
        ...AZURE_PROVIDER_DATA_ACTIONS.filter((action) => !allowed(permissions, action, true)),
      ];
      if (missing.length > 0) {
        const more = missing.length > NAMED ? ` and ${missing.length - NAMED} more` : '';
        return {
          ok: false,
          path: '/resourceGroup',
          message: `CloudSeed's app lacks ${missing.slice(0, NAMED).join(', ')}${more} on resource group ${group}: assign it the ${AZURE_DEPLOYER_ROLE} role there with the connection's az steps`,
        };
      }
    }
    return { ok: true };
  }
}

function parse(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Entra's errors run to many lines of troubleshooting links; the first says what happened. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}
