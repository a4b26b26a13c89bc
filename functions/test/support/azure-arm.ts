import { createHttpHeaders } from '@azure/core-rest-pipeline';
import type { HttpClient, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

// An in-memory Azure Resource Manager behind the SDKs' own injection point (an HttpClient), with the
// key vault data plane beside it. It keeps resources by id the way ARM does: a PUT stores the body
// with provisioningState Succeeded (and what Azure adds: a NIC's private address, an identity's
// principal id, a VM's disks), a GET answers it or 404 with an ARM error body, a DELETE removes it
// with what goes with it (a VM's disks and NICs marked deleteOption Delete, a resource's children)
// and refuses while another resource still uses it (a subnet with NICs in it, a security group a
// subnet names). A deleted vault stays soft-deleted: it can only be recovered (createMode recover).
//
// Every request is recorded (method, URL, api-version, parsed body). Rules make requests fail (a 429
// once, a 409 SkuNotAvailable, a 403), deletes can be answered asynchronously (202 with an
// Azure-AsyncOperation the SDK's poller follows), and a VM's or a run command's instance view can be
// set to any state.

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** The URL's path, each '//' as '/' (the SDK's generic operations put a '/' before an id that has one). */
  readonly path: string;
  readonly host: string;
  readonly apiVersion: string | null;
  readonly body: unknown;
}

export interface FailureRule {
  readonly method?: string;
  /** Matched against the path. */
  readonly path: RegExp;
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
  readonly headers?: Record<string, string>;
  /** How many requests it fails; every one when left out. */
  times?: number;
}

export interface RunCommandView {
  readonly executionState: string;
  readonly exitCode?: number;
  readonly output?: string;
  readonly error?: string;
  readonly executionMessage?: string;
}

export interface VmView {
  readonly provisioningState?: string;
  readonly power?: string;
  readonly agent?: string;
  readonly statuses?: ReadonlyArray<{ code: string; level: string; message: string }>;
}

type Body = Record<string, unknown> & { properties?: Record<string, unknown> };

interface Stored {
  readonly id: string;
  body: Body;
  /** A secret's value: ARM never answers it, the data plane does. */
  value?: string;
}

export const TENANT_ID = '72f988bf-0000-4000-8000-00000000cafe';

export class FakeArm implements HttpClient {
  readonly requests: RecordedRequest[] = [];
  readonly failures: FailureRule[] = [];
  readonly runViews = new Map<string, RunCommandView>();
  readonly vmViews = new Map<string, VmView>();
  /** Answer DELETEs of VMs with 202 and an operation that is in progress this many polls. */
  asyncVmDeletes: number | undefined;
  readonly #resources = new Map<string, Stored>();
  readonly #deletedVaults = new Map<string, Stored[]>();
  readonly #operations = new Map<string, { polls: number; finish: () => void }>();
  #counter = 0;

  /** Creates a resource as if someone had (the resource groups the customer made). */
  seed(id: string, body: Body = {}): void {
    this.#resources.set(id.toLowerCase(), { id, body: { ...body, id, name: nameOf(id) } });
  }

  /** Every resource id held now, sorted. */
  ids(): string[] {
    return [...this.#resources.values()].map((resource) => resource.id).sort();
  }

  has(id: string): boolean {
    return this.#resources.has(id.toLowerCase());
  }

  body(id: string): Body | undefined {
    return this.#resources.get(id.toLowerCase())?.body;
  }

  /** Writes (PUT and PATCH) sent, with the path of each. */
  writes(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === 'PUT' || request.method === 'PATCH');
  }

  sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname).replace(/\/{2,}/g, '/');
    const recorded: RecordedRequest = {
      method: request.method,
      url: request.url,
      path,
      host: url.host,
      apiVersion: url.searchParams.get('api-version'),
      body: parseBody(request.body),
    };
    this.requests.push(recorded);
    const rule = this.failures.find(
      (candidate) => (candidate.times ?? 1) > 0 && candidate.path.test(path) && (!candidate.method || candidate.method === request.method),
    );
    if (rule) {
      if (rule.times !== undefined) rule.times -= 1;
      return Promise.resolve(
        respond(
          request,
          rule.status,
          { error: { code: rule.code ?? `HTTP${rule.status}`, message: rule.message ?? 'refused by a test rule' } },
          rule.headers,
        ),
      );
    }
    if (url.host.endsWith('.vault.azure.net')) return Promise.resolve(this.#dataPlane(request, url.host.split('.')[0]!, path));
    return Promise.resolve(this.#arm(request, recorded, url));
  }

  #arm(request: PipelineRequest, recorded: RecordedRequest, url: URL): PipelineResponse {
    const { path } = recorded;
    const operation = /\/operations\/([^/]+)$/.exec(path);
    if (operation && request.method === 'GET') return this.#operationStatus(request, operation[1]!);
    if (/^\/subscriptions\/[^/]+$/.test(path)) {
      return respond(request, 200, { id: path, subscriptionId: nameOf(path), tenantId: TENANT_ID, state: 'Enabled' });
    }
    const key = path.toLowerCase();
    switch (request.method) {
      case 'GET': {
        const stored = this.#resources.get(key);
        if (!stored) return notFound(request, path);
        return respond(request, 200, this.#view(stored, url.searchParams.get('$expand') === 'instanceView'));
      }
      case 'PUT':
        return this.#put(request, path, (recorded.body ?? {}) as Body);
      case 'PATCH': {
        const stored = this.#resources.get(key);
        if (!stored) return notFound(request, path);
        const patch = structuredClone((recorded.body ?? {}) as Body);
        // As Azure, here: a VM changes its size only while deallocated (CloudSeed always deallocates first).
        if (
          typeOf(path) === 'Microsoft.Compute/virtualMachines' &&
          patch.properties?.['hardwareProfile'] &&
          this.vmViews.get(stored.id)?.power !== 'deallocated'
        )
          return respond(request, 409, { error: { code: 'OperationNotAllowed', message: 'the VM must be deallocated to change its size' } });
        stored.body = { ...stored.body, ...patch, properties: { ...stored.body.properties, ...patch.properties } };
        return respond(request, 200, this.#view(stored, false));
      }
      case 'DELETE':
        return this.#delete(request, path);
      case 'POST':
        return this.#action(request, path);
      default:
        return respond(request, 405, { error: { code: 'MethodNotAllowed', message: request.method } });
    }
  }

  #put(request: PipelineRequest, path: string, sent: Body): PipelineResponse {
    const key = path.toLowerCase();
    const group = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)\//i.exec(path)?.[1];
    if (group && !this.has(group)) return respond(request, 404, { error: { code: 'ResourceGroupNotFound', message: `${group} not found` } });
    // A storage account's blob service is there as soon as the account is.
    const parent = parentOf(path)?.replace(/\/blobServices\/default$/i, '');
    if (parent && !this.has(parent)) return respond(request, 404, { error: { code: 'ParentResourceNotFound', message: `${parent} not found` } });
    if (/\/Microsoft\.KeyVault\/vaults\/[^/]+$/i.test(path) && !this.has(path)) {
      const deleted = this.#deletedVaults.get(key);
      const createMode = sent.properties?.['createMode'];
      if (deleted && createMode !== 'recover') {
        return respond(request, 409, { error: { code: 'ConflictError', message: `a deleted vault named ${nameOf(path)} exists; recover it` } });
      }
      if (deleted) {
        for (const resource of deleted) this.#resources.set(resource.id.toLowerCase(), resource);
        this.#deletedVaults.delete(key);
        return respond(request, 200, this.#view(this.#resources.get(key)!, false));
      }
    }
    const existed = this.#resources.get(key);
    // A copy: what Azure fills in must not show in the recorded request.
    const copy = structuredClone(sent);
    const properties: Record<string, unknown> = { ...copy.properties, provisioningState: 'Succeeded' };
    const stored: Stored = { id: path, body: { ...copy, id: path, name: nameOf(path), properties } };
    this.#complete(stored, existed);
    this.#resources.set(key, stored);
    return respond(request, existed ? 200 : 201, this.#view(stored, false));
  }

  /** What Azure fills in on creation. */
  #complete(stored: Stored, existed: Stored | undefined): void {
    const { id, body } = stored;
    const properties = body.properties!;
    const type = typeOf(id);
    if (type === 'Microsoft.ManagedIdentity/userAssignedIdentities') {
      properties['principalId'] = existed?.body.properties?.['principalId'] ?? this.#guid();
      properties['clientId'] = existed?.body.properties?.['clientId'] ?? this.#guid();
      properties['tenantId'] = TENANT_ID;
    }
    if (type === 'Microsoft.KeyVault/vaults/secrets') {
      stored.value = String(properties['value']);
      delete properties['value'];
    }
    if (type === 'Microsoft.Network/networkInterfaces') {
      const configurations = (properties['ipConfigurations'] ?? []) as Array<{ properties: Record<string, unknown> }>;
      for (const [index, configuration] of configurations.entries()) {
        const previous = (existed?.body.properties?.['ipConfigurations'] as typeof configurations | undefined)?.[index];
        configuration.properties = { ...configuration.properties, privateIPAddress: previous?.properties['privateIPAddress'] ?? this.#address() };
      }
    }
    if (type === 'Microsoft.Network/loadBalancers') {
      const frontends = (properties['frontendIPConfigurations'] ?? []) as Array<{ properties: Record<string, unknown> }>;
      for (const frontend of frontends) frontend.properties = { ...frontend.properties, privateIPAddress: this.#address() };
    }
    if (type === 'Microsoft.Compute/virtualMachines') {
      const view = this.vmViews.get(id);
      if (view?.provisioningState) properties['provisioningState'] = view.provisioningState;
      const storage = properties['storageProfile'] as { osDisk: DiskSpec; dataDisks: DiskSpec[] };
      const group = id.slice(0, id.indexOf('/providers/'));
      for (const disk of [storage.osDisk, ...storage.dataDisks]) {
        const diskId = `${group}/providers/Microsoft.Compute/disks/${disk.name}`;
        this.#resources.set(diskId.toLowerCase(), {
          id: diskId,
          body: { id: diskId, name: disk.name, managedBy: id, deleteOption: disk.deleteOption },
        });
      }
    }
  }

  /** A VM's deallocate and start: the power state they leave, answered at once. */
  #action(request: PipelineRequest, path: string): PipelineResponse {
    const match = /^(.*\/Microsoft\.Compute\/virtualMachines\/[^/]+)\/(deallocate|start)$/i.exec(path);
    const stored = match ? this.#resources.get(match[1]!.toLowerCase()) : undefined;
    if (!match || !stored) return notFound(request, path);
    this.vmViews.set(stored.id, { ...this.vmViews.get(stored.id), power: match[2] === 'deallocate' ? 'deallocated' : 'running' });
    return respond(request, 200, undefined);
  }

  #delete(request: PipelineRequest, path: string): PipelineResponse {
    const key = path.toLowerCase();
    const stored = this.#resources.get(key);
    if (!stored) return respond(request, 204, undefined);
    const user = this.#userOf(path);
    if (user) return respond(request, 400, { error: { code: 'InUseResourceCannotBeDeleted', message: `${path} is in use by ${user}` } });
    const remove = () => this.#remove(stored);
    if (this.asyncVmDeletes !== undefined && typeOf(path) === 'Microsoft.Compute/virtualMachines') {
      const operationId = `op-${this.#guid()}`;
      this.#operations.set(operationId, { polls: this.asyncVmDeletes, finish: remove });
      const subscription = path.split('/')[2]!;
      const location = `https://management.azure.com/subscriptions/${subscription}/providers/Microsoft.Compute/locations/westeurope/operations/${operationId}?api-version=2024-07-01`;
      return respond(request, 202, undefined, { 'Azure-AsyncOperation': location, Location: location, 'Retry-After': '0' });
    }
    remove();
    return respond(request, 200, undefined);
  }

  #operationStatus(request: PipelineRequest, operationId: string): PipelineResponse {
    const operation = this.#operations.get(operationId);
    if (!operation) return respond(request, 200, { name: operationId, status: 'Succeeded' });
    if (operation.polls > 0) {
      operation.polls -= 1;
      return respond(request, 200, { name: operationId, status: 'InProgress' }, { 'Retry-After': '0' });
    }
    operation.finish();
    this.#operations.delete(operationId);
    return respond(request, 200, { name: operationId, status: 'Succeeded' });
  }

  /** Removes the resource, its children, and what it deletes with it; a vault goes to the soft-deleted ones. */
  #remove(stored: Stored): void {
    const key = stored.id.toLowerCase();
    const removed = [...this.#resources.values()].filter(
      (resource) => resource.id.toLowerCase() === key || resource.id.toLowerCase().startsWith(`${key}/`),
    );
    for (const resource of removed) this.#resources.delete(resource.id.toLowerCase());
    if (typeOf(stored.id) === 'Microsoft.KeyVault/vaults') this.#deletedVaults.set(key, removed);
    if (typeOf(stored.id) === 'Microsoft.Compute/virtualMachines') {
      for (const resource of [...this.#resources.values()]) {
        if (resource.body['managedBy'] === stored.id && resource.body['deleteOption'] === 'Delete') this.#resources.delete(resource.id.toLowerCase());
      }
      const cards = (stored.body.properties?.['networkProfile'] as { networkInterfaces?: NicReference[] } | undefined)?.networkInterfaces ?? [];
      for (const card of cards) if (card.properties?.deleteOption === 'Delete') this.#resources.delete(card.id.toLowerCase());
    }
  }

  /** A NIC, VM, subnet or load balancer (not a child of it) that names the resource. */
  #userOf(path: string): string | undefined {
    const key = path.toLowerCase();
    const users = [
      'Microsoft.Network/networkInterfaces',
      'Microsoft.Compute/virtualMachines',
      'Microsoft.Network/virtualNetworks/subnets',
      'Microsoft.Network/loadBalancers',
    ];
    for (const resource of this.#resources.values()) {
      const id = resource.id.toLowerCase();
      if (id === key || id.startsWith(`${key}/`) || !users.includes(typeOf(resource.id))) continue;
      if (JSON.stringify(resource.body).toLowerCase().includes(`"${key}`)) return resource.id;
    }
    return undefined;
  }

  #view(stored: Stored, instanceView: boolean): Body {
    const { id, body } = stored;
    const type = typeOf(id);
    if (type === 'Microsoft.Network/virtualNetworks') {
      const prefix = `${id.toLowerCase()}/subnets/`;
      const subnets = [...this.#resources.values()]
        .filter((resource) => resource.id.toLowerCase().startsWith(prefix))
        .map((resource) => ({ id: resource.id, name: nameOf(resource.id), properties: resource.body.properties }));
      return { ...body, properties: { ...body.properties, subnets } };
    }
    if (type === 'Microsoft.Compute/virtualMachines' && instanceView) {
      const view = this.vmViews.get(id) ?? {};
      const provisioning = view.provisioningState ?? String(body.properties?.['provisioningState']);
      const statuses = [
        { code: `ProvisioningState/${provisioning.toLowerCase()}`, level: 'Info' },
        ...(view.power === undefined || view.power !== '' ? [{ code: `PowerState/${view.power ?? 'running'}`, level: 'Info' }] : []),
        ...(view.statuses ?? []),
      ];
      return {
        ...body,
        properties: {
          ...body.properties,
          provisioningState: provisioning,
          instanceView: { statuses, vmAgent: { statuses: [{ code: 'ProvisioningState/succeeded', displayStatus: view.agent ?? 'Ready' }] } },
        },
      };
    }
    if (type === 'Microsoft.Compute/virtualMachines/runCommands') {
      const view = this.runViews.get(id) ?? { executionState: 'Succeeded', exitCode: 0, output: '', error: '' };
      return { ...body, properties: { ...body.properties, ...(instanceView ? { instanceView: view } : {}) } };
    }
    return body;
  }

  #dataPlane(request: PipelineRequest, vaultName: string, path: string): PipelineResponse {
    if (!request.headers.get('authorization')) {
      return respond(request, 401, undefined, {
        'WWW-Authenticate': `Bearer authorization="https://login.microsoftonline.com/${TENANT_ID}", resource="https://vault.azure.net"`,
      });
    }
    const name = /^\/secrets\/([^/]+)/.exec(path)?.[1];
    const vault = [...this.#resources.values()].find(
      (resource) => typeOf(resource.id) === 'Microsoft.KeyVault/vaults' && nameOf(resource.id) === vaultName,
    );
    const secret = vault && name ? this.#resources.get(`${vault.id}/secrets/${name}`.toLowerCase()) : undefined;
    if (!secret || secret.value === undefined) {
      return respond(request, 404, {
        error: { code: 'SecretNotFound', message: `A secret with (name/id) ${String(name)} was not found in this key vault` },
      });
    }
    return respond(request, 200, {
      value: secret.value,
      id: `https://${vaultName}.vault.azure.net/secrets/${String(name)}/0001`,
      attributes: { enabled: true },
    });
  }

  #guid(): string {
    this.#counter += 1;
    return `00000000-0000-4000-8000-${String(this.#counter).padStart(12, '0')}`;
  }

  #address(): string {
    this.#counter += 1;
    return `10.20.0.${3 + this.#counter}`;
  }
}

interface DiskSpec {
  readonly name: string;
  readonly deleteOption?: string;
}

interface NicReference {
  readonly id: string;
  readonly properties?: { readonly deleteOption?: string };
}

const nameOf = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

/** `Microsoft.Network/virtualNetworks/subnets` for a subnet's id: the types after the last `/providers/`. */
export function typeOf(id: string): string {
  const at = id.lastIndexOf('/providers/');
  if (at < 0) return id.includes('/resourceGroups/') ? 'Microsoft.Resources/subscriptions/resourceGroups' : 'Microsoft.Resources/subscriptions';
  const [namespace = '', ...rest] = id.slice(at + '/providers/'.length).split('/');
  return [namespace, ...rest.filter((_, index) => index % 2 === 0)].join('/');
}

/** The parent of a child resource (a subnet's VNet, a secret's vault); undefined for a top-level one. */
function parentOf(id: string): string | undefined {
  const at = id.lastIndexOf('/providers/');
  if (at < 0) return undefined;
  const segments = id.slice(at + '/providers/'.length).split('/');
  if (segments.length <= 3) return at === id.indexOf('/providers/') ? undefined : id.slice(0, at);
  return id.split('/').slice(0, -2).join('/');
}

/**
 * The RBAC action a request needs: its method on the resource type in its URL (an operation status
 * is read on its location's operations; a vault's data plane is the secret data action).
 */
export function actionOf(request: RecordedRequest): string {
  if (request.host.endsWith('.vault.azure.net')) return 'Microsoft.KeyVault/vaults/secrets/getSecret/action';
  const verb = request.method === 'GET' ? 'read' : request.method === 'DELETE' ? 'delete' : request.method === 'POST' ? 'action' : 'write';
  return `${typeOf(request.path)}/${verb}`;
}

function parseBody(body: PipelineRequest['body']): unknown {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function respond(request: PipelineRequest, status: number, body: unknown, headers: Record<string, string> = {}): PipelineResponse {
  return {
    request,
    status,
    headers: createHttpHeaders({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-ms-request-id': 'fake', ...headers }),
    ...(body === undefined ? {} : { bodyAsText: JSON.stringify(body) }),
  };
}

function notFound(request: PipelineRequest, path: string): PipelineResponse {
  return respond(request, 404, { error: { code: 'ResourceNotFound', message: `The Resource '${path}' was not found.` } });
}
