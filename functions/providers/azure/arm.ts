import { createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import type { HttpMethods } from '@azure/core-rest-pipeline';
import { PermanentError, TransientError } from '../errors.ts';
import type { AzureContext } from './clients.ts';
import { azureStatus, call, found } from './errors.ts';
import { operationOn } from './target.ts';

// Resources by id, through ARM's REST API on the resource client's pipeline (its credential,
// retries of 429 and 5xx, and the injected HTTP client). Writes send the azure-json body exactly as
// rendered: the SDK's generic `resources.beginCreateOrUpdateById` serialises through its
// GenericResource model, which has no `zones` and would silently drop a VM's zone (and with it
// Premium SSD v2, which only attaches to zonal VMs). A write that another resource depends on is
// followed until its provisioningState settles (waitProvisioned); deletes use the SDK's poller,
// which follows Azure-AsyncOperation and Location to the end.

export const ARM_ENDPOINT = 'https://management.azure.com';

export type ArmBody = Record<string, unknown> & { readonly properties?: Record<string, unknown> };

async function send(context: AzureContext, method: HttpMethods, id: string, apiVersion: string, body?: unknown): Promise<ArmBody> {
  const request = createPipelineRequest({ url: `${ARM_ENDPOINT}${id}?api-version=${apiVersion}`, method });
  request.headers.set('Accept', 'application/json');
  if (body !== undefined) {
    request.headers.set('Content-Type', 'application/json');
    request.body = JSON.stringify(body);
  }
  const response = await context.clients.arm.sendRequest(request);
  const parsed = parseBody(response.bodyAsText);
  if (response.status >= 200 && response.status < 300) return parsed ?? {};
  const error = (parsed?.['error'] ?? {}) as { code?: unknown; message?: unknown };
  // Neither the request nor the response rides along: a secret's value is in one of them.
  throw new RestError(typeof error.message === 'string' ? error.message : `HTTP ${response.status}`, {
    statusCode: response.status,
    ...(typeof error.code === 'string' ? { code: error.code } : {}),
  });
}

function parseBody(text: string | null | undefined): ArmBody | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as ArmBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The resource as ARM has it, or undefined when it does not exist. */
export function readResource(context: AzureContext, id: string, apiVersion: string): Promise<ArmBody | undefined> {
  return found(operationOn(id, 'read'), () => send(context, 'GET', id, apiVersion));
}

/** PUT: creates the resource or replaces it with `body`; answers what ARM answered (maybe still provisioning). */
export function writeResource(context: AzureContext, id: string, apiVersion: string, body: unknown): Promise<ArmBody> {
  return call(operationOn(id, 'write'), () => send(context, 'PUT', id, apiVersion, body));
}

/** PATCH: changes only what `body` names. */
export function updateResource(context: AzureContext, id: string, apiVersion: string, body: unknown): Promise<ArmBody> {
  return call(operationOn(id, 'write'), () => send(context, 'PATCH', id, apiVersion, body));
}

const provisioningStateOf = (body: ArmBody | undefined): unknown => body?.properties?.['provisioningState'];

/**
 * Reads the resource until its provisioningState is Succeeded (or it has none, like a role
 * assignment), for at most the context's wait limit; a resource that failed to provision is a
 * PermanentError, one still provisioning at the limit a TransientError (the step is retried).
 */
export async function waitProvisioned(context: AzureContext, id: string, apiVersion: string, written?: ArmBody): Promise<ArmBody> {
  const { clock, waits } = context;
  const deadline = clock.now() + waits.limitMs;
  let body = written;
  for (;;) {
    const state = provisioningStateOf(body);
    if (body && (state === undefined || state === 'Succeeded')) return body;
    if (state === 'Failed' || state === 'Canceled') throw new PermanentError(`${operationOn(id, 'write')} ended ${String(state)}`);
    if (clock.now() >= deadline) {
      throw new TransientError(
        `${operationOn(id, 'write')} is still ${typeof state === 'string' ? state : 'being created'} after ${waits.limitMs / 1000} s`,
      );
    }
    await clock.sleep(waits.pollIntervalMs);
    // A resource created asynchronously (202) may not be readable for a moment: that is "not yet".
    body = await readResource(context, id, apiVersion);
  }
}

/** Reads the resource, writes `body` when it does not exist; what ARM has, once provisioned. */
export async function ensureResource(context: AzureContext, id: string, apiVersion: string, body: unknown): Promise<ArmBody> {
  const existing = await readResource(context, id, apiVersion);
  return waitProvisioned(context, id, apiVersion, existing ?? (await writeResource(context, id, apiVersion, body)));
}

/**
 * Deletes the resource and follows the operation to its end, within `signal` (the caller's bound);
 * one that does not exist is already deleted.
 */
export async function deleteResource(context: AzureContext, id: string, apiVersion: string, signal: AbortSignal): Promise<void> {
  const { resources } = context.clients.arm;
  try {
    await call(operationOn(id, 'delete'), async () => {
      // The generic operations put their own '/' before the id.
      const poller = await resources.beginDeleteById(id.slice(1), apiVersion, {
        updateIntervalInMs: context.waits.pollIntervalMs,
        abortSignal: signal,
      });
      await poller.pollUntilDone({ abortSignal: signal });
    });
  } catch (error) {
    if (azureStatus(error) !== 404) throw error;
  }
}
