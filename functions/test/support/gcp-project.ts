import { validatePlan } from '@cloudseed/shared';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import type { PlanInput } from '@cloudseed/shared';
import type { protos } from '@google-cloud/compute';
import { OAuth2Client } from 'google-auth-library';
import { GoogleError } from 'google-gax';
import sinon from 'sinon';
import { gcpClients } from '../../providers/gcp/index.ts';
import type { GcpClients } from '../../providers/gcp/index.ts';
import { GcpProvider } from '../../providers/gcp/index.ts';
import type { DeployTarget } from '../../providers/provider.ts';

// A small in-memory Google Cloud project behind the real client libraries, whose methods are sinon
// stubs: networks, subnets, routers, firewall rules, instances (with metadata and guest attributes),
// secrets with versions and IAM policies, service accounts and the backup bucket's IAM policy. Each
// call is recorded with its request as the provider built it, so a test asserts exact requests; a
// change answers with an Operation that is DONE, or RUNNING until the operations API's wait is
// asked, as a test chooses.

type Operation = protos.google.cloud.compute.v1.IOperation;
type Instance = protos.google.cloud.compute.v1.IInstance;

export const PROJECT = 'acme-prod-4821';
export const REGION = 'europe-west4';
export const ZONE = 'europe-west4-b';
export const PLAN_ID = '7d1c2a4e-5b6f-4c3d-9e8f-0a1b2c3d4e5f';

export interface RecordedCall {
  /** `compute.instances.insert`, `secretmanager.createSecret`, `iam.serviceAccounts.create`, ... */
  readonly method: string;
  readonly request: unknown;
}

export interface FakeProject {
  readonly clients: GcpClients;
  readonly calls: RecordedCall[];
  readonly instances: Map<string, Instance>;
  /** Guest attributes by instance, keyed `<namespace>/<key>`. */
  readonly guestAttributes: Map<string, Map<string, string>>;
  readonly secretValues: Map<string, string[]>;
  readonly secretPolicies: Map<string, unknown>;
  readonly bucketPolicy: { bindings: { role: string; members: string[]; condition?: { title: string } }[]; version?: number; etag?: string };
  /** Everything the plan holds, one line each, sorted (the shared backup bucket aside). */
  resources(): string[];
  /** The next call of `method` fails with `error`. */
  failNext(method: string, error: Error): void;
  /** Changes answer RUNNING, done only when the operations API's wait is called. */
  slowOperations: boolean;
  /** The operation a zone change ends with (e.g. an error), instead of success. */
  operationErrors: Map<string, Operation['error']>;
  /** What the calls of one method asked, in order. */
  requestsOf(method: string): unknown[];
  /** The instances where Patroni's /primary answers, as the load balancer's health check sees them. */
  readonly leaders: Set<string>;
  /** Cloud Storage objects by `gs://<bucket>/<key>`. */
  readonly objects: Map<string, string>;
  /** The backup bucket: whether it is there, and its lifecycle rules (as buckets.get answers them). */
  readonly bucket: { exists: boolean; lifecycle: unknown[] };
}

/** A Google API error as google-gax raises it for a REST call: the gRPC status in `code`, the HTTP status beside it. */
export function googleError(code: number, httpStatusCode: number, message: string, reason?: string): GoogleError {
  return Object.assign(new GoogleError(message), { code, httpStatusCode, ...(reason ? { reason } : {}) });
}

const notFound = (what: string) => googleError(5, 404, `The resource '${what}' was not found`);
const exists = (what: string) => googleError(6, 409, `The resource '${what}' already exists`);

export function fakeProject(): FakeProject {
  const clients = gcpClients(new OAuth2Client(), PROJECT);
  const calls: RecordedCall[] = [];
  const failures = new Map<string, Error[]>();
  const networks = new Map<string, unknown>();
  const subnetworks = new Map<string, unknown>();
  const routers = new Map<string, unknown>();
  const firewalls = new Map<string, protos.google.cloud.compute.v1.IFirewall>();
  const instances = new Map<string, Instance>();
  const guestAttributes = new Map<string, Map<string, string>>();
  const secrets = new Map<string, unknown>();
  const secretValues = new Map<string, string[]>();
  const secretPolicies = new Map<string, unknown>();
  const serviceAccounts = new Set<string>();
  const bucketPolicy: FakeProject['bucketPolicy'] = { bindings: [], etag: 'CAE=' };
  const runningOperations = new Set<string>();
  const balancers: Map<string, unknown>[] = [];
  let operations = 0;
  let addresses = 10;

  const project: FakeProject = {
    clients,
    calls,
    instances,
    guestAttributes,
    secretValues,
    secretPolicies,
    bucketPolicy,
    bucket: { exists: false, lifecycle: [] },
    slowOperations: false,
    operationErrors: new Map(),
    leaders: new Set(),
    objects: new Map(),
    resources: () =>
      [
        ...[...networks.keys()].map((name) => `network ${name}`),
        ...[...subnetworks.keys()].map((name) => `subnetwork ${name}`),
        ...[...routers.keys()].map((name) => `router ${name}`),
        ...[...firewalls.keys()].map((name) => `firewall ${name}`),
        ...[...instances.keys()].map((name) => `instance ${name}`),
        ...[...secrets.keys()].map((name) => `secret ${name}`),
        ...[...serviceAccounts].map((email) => `service account ${email}`),
        ...bucketPolicy.bindings.map((binding) => `backup bucket binding ${binding.condition?.title ?? binding.role}`),
        ...balancers.flatMap((parts) => [...parts.keys()].map((name) => `load balancer part ${name}`)),
      ].sort(),
    failNext: (method, error) => failures.set(method, [...(failures.get(method) ?? []), error]),
    requestsOf: (method) => calls.filter((entry) => entry.method === method).map((entry) => entry.request),
  };

  /** Records the call, throws an injected failure, then answers. */
  const handle = <R>(method: string, request: unknown, answer: () => R): Promise<R> => {
    calls.push({ method, request: structuredClone(request) });
    const failure = failures.get(method)?.shift();
    if (failure) return Promise.reject(failure);
    try {
      return Promise.resolve(answer());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const operation = (scope: { zone?: string; region?: string }, kind: string): [{ latestResponse: Operation }] => {
    operations += 1;
    const name = `operation-${operations}`;
    const error = scope.zone ? project.operationErrors.get(kind) : undefined;
    const running = project.slowOperations;
    if (running) runningOperations.add(name);
    const response: Operation = {
      name,
      status: running ? 'RUNNING' : 'DONE',
      ...(scope.zone ? { zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${scope.zone}` } : {}),
      ...(scope.region ? { region: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/${scope.region}` } : {}),
      ...(error ? { error } : {}),
    };
    return [{ latestResponse: response }];
  };
  const waitFor =
    (method: string) =>
    (request: { operation?: string | null; zone?: string | null; region?: string | null }): Promise<[Operation]> =>
      handle(method, request, () => {
        runningOperations.delete(request.operation ?? '');
        return [{ name: request.operation ?? '', status: 'DONE' }];
      });
  const stub = <T extends object>(client: T, name: keyof T & string, implementation: (...args: never[]) => unknown): void => {
    sinon.stub(client, name).callsFake(implementation as never);
  };
  const getter =
    <V>(method: string, map: Map<string, V>, key: (request: never) => string) =>
    (request: never) =>
      handle(method, request, () => {
        const value = map.get(key(request));
        if (value === undefined) throw notFound(key(request));
        return [structuredClone(value)];
      });

  // Compute Engine: the plan's network.
  stub(
    clients.networks,
    'get',
    getter('compute.networks.get', networks, (request: { network: string }) => request.network),
  );
  stub(clients.networks, 'list', (request: unknown) => handle('compute.networks.list', request, () => [[...networks.values()]]));
  stub(clients.networks, 'insert', (request: { networkResource: { name: string } }) =>
    handle('compute.networks.insert', request, () => {
      if (networks.has(request.networkResource.name)) throw exists(request.networkResource.name);
      networks.set(request.networkResource.name, request.networkResource);
      return operation({}, 'networks.insert');
    }),
  );
  stub(clients.networks, 'delete', (request: { network: string }) =>
    handle('compute.networks.delete', request, () => {
      networks.delete(request.network);
      return operation({}, 'networks.delete');
    }),
  );
  stub(
    clients.subnetworks,
    'get',
    getter('compute.subnetworks.get', subnetworks, (request: { subnetwork: string }) => request.subnetwork),
  );
  stub(clients.subnetworks, 'insert', (request: { region: string; subnetworkResource: { name: string } }) =>
    handle('compute.subnetworks.insert', request, () => {
      subnetworks.set(request.subnetworkResource.name, request.subnetworkResource);
      return operation({ region: request.region }, 'subnetworks.insert');
    }),
  );
  stub(clients.subnetworks, 'delete', (request: { region: string; subnetwork: string }) =>
    handle('compute.subnetworks.delete', request, () => {
      subnetworks.delete(request.subnetwork);
      return operation({ region: request.region }, 'subnetworks.delete');
    }),
  );
  stub(
    clients.routers,
    'get',
    getter('compute.routers.get', routers, (request: { router: string }) => request.router),
  );
  stub(clients.routers, 'insert', (request: { region: string; routerResource: { name: string } }) =>
    handle('compute.routers.insert', request, () => {
      routers.set(request.routerResource.name, request.routerResource);
      return operation({ region: request.region }, 'routers.insert');
    }),
  );
  stub(clients.routers, 'delete', (request: { region: string; router: string }) =>
    handle('compute.routers.delete', request, () => {
      routers.delete(request.router);
      return operation({ region: request.region }, 'routers.delete');
    }),
  );
  stub(clients.firewalls, 'list', (request: { filter?: string }) =>
    handle('compute.firewalls.list', request, () => {
      const network = /networks\/([^$]+)\$$/.exec(request.filter ?? '')?.[1];
      return [
        [...firewalls.values()].filter((rule) => !network || rule.network?.endsWith(`/networks/${network}`)).map((rule) => structuredClone(rule)),
      ];
    }),
  );
  stub(clients.firewalls, 'insert', (request: { firewallResource: protos.google.cloud.compute.v1.IFirewall }) =>
    handle('compute.firewalls.insert', request, () => {
      firewalls.set(request.firewallResource.name ?? '', structuredClone(request.firewallResource));
      return operation({}, 'firewalls.insert');
    }),
  );
  stub(clients.firewalls, 'update', (request: { firewall: string; firewallResource: protos.google.cloud.compute.v1.IFirewall }) =>
    handle('compute.firewalls.update', request, () => {
      if (!firewalls.has(request.firewall)) throw notFound(request.firewall);
      firewalls.set(request.firewall, structuredClone(request.firewallResource));
      return operation({}, 'firewalls.update');
    }),
  );
  stub(clients.firewalls, 'delete', (request: { firewall: string }) =>
    handle('compute.firewalls.delete', request, () => {
      if (!firewalls.delete(request.firewall)) throw notFound(request.firewall);
      return operation({}, 'firewalls.delete');
    }),
  );

  // Compute Engine: instances, their metadata and guest attributes.
  stub(
    clients.instances,
    'get',
    getter('compute.instances.get', instances, (request: { instance: string }) => request.instance),
  );
  stub(clients.instances, 'list', (request: { filter?: string }) =>
    handle('compute.instances.list', request, () => {
      const wanted = [...(request.filter ?? '').matchAll(/labels\.([a-z-]+) = ([a-z0-9-]+)/g)].map(([, key, value]) => [key!, value!] as const);
      return [[...instances.values()].filter((instance) => wanted.every(([key, value]) => instance.labels?.[key] === value))];
    }),
  );
  stub(clients.instances, 'insert', (request: { zone: string; instanceResource: Instance }) =>
    handle('compute.instances.insert', request, () => {
      const error = project.operationErrors.get('instances.insert');
      const done = operation({ zone: request.zone }, 'instances.insert');
      if (error) return done;
      const name = request.instanceResource.name ?? '';
      if (instances.has(name)) throw exists(name);
      addresses += 1;
      instances.set(name, {
        ...structuredClone(request.instanceResource),
        status: 'PROVISIONING',
        networkInterfaces: [{ ...request.instanceResource.networkInterfaces?.[0], networkIP: `10.128.0.${addresses}` }],
        metadata: { ...request.instanceResource.metadata, fingerprint: 'fp-1' },
        // As Compute Engine shows attached disks: their size and the disk each one is.
        disks: (request.instanceResource.disks ?? []).map((disk) => ({
          ...structuredClone(disk),
          diskSizeGb: disk.initializeParams?.diskSizeGb ?? null,
          source: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${request.zone}/disks/${name}${disk.deviceName ? `-${disk.deviceName}` : ''}`,
        })),
      });
      return done;
    }),
  );
  stub(clients.instances, 'delete', (request: { zone: string; instance: string }) =>
    handle('compute.instances.delete', request, () => {
      if (!instances.delete(request.instance)) throw notFound(request.instance);
      guestAttributes.delete(request.instance);
      return operation({ zone: request.zone }, 'instances.delete');
    }),
  );
  const instanceOf = (name: string) => {
    const instance = instances.get(name);
    if (!instance) throw notFound(name);
    return instance;
  };
  stub(clients.instances, 'stop', (request: { zone: string; instance: string }) =>
    handle('compute.instances.stop', request, () => {
      instanceOf(request.instance).status = 'TERMINATED';
      return operation({ zone: request.zone }, 'instances.stop');
    }),
  );
  stub(clients.instances, 'start', (request: { zone: string; instance: string }) =>
    handle('compute.instances.start', request, () => {
      instanceOf(request.instance).status = 'RUNNING';
      return operation({ zone: request.zone }, 'instances.start');
    }),
  );
  // As Compute Engine: only a stopped instance changes its machine type.
  stub(
    clients.instances,
    'setMachineType',
    (request: { zone: string; instance: string; instancesSetMachineTypeRequestResource: { machineType: string } }) =>
      handle('compute.instances.setMachineType', request, () => {
        const instance = instanceOf(request.instance);
        if (instance.status !== 'TERMINATED')
          throw googleError(
            9,
            400,
            `The resource '${request.instance}' is not ready: it must be stopped to change its machine type`,
            'resourceNotReady',
          );
        instance.machineType = request.instancesSetMachineTypeRequestResource.machineType;
        return operation({ zone: request.zone }, 'instances.setMachineType');
      }),
  );
  stub(clients.instances, 'setMetadata', (request: { zone: string; instance: string; metadataResource: Instance['metadata'] }) =>
    handle('compute.instances.setMetadata', request, () => {
      const instance = instances.get(request.instance);
      if (!instance) throw notFound(request.instance);
      if (request.metadataResource?.fingerprint !== instance.metadata?.fingerprint)
        throw googleError(9, 412, 'Supplied fingerprint does not match current metadata fingerprint.', 'conditionNotMet');
      const fingerprint = `fp-${Number((instance.metadata?.fingerprint ?? 'fp-0').slice(3)) + 1}`;
      instance.metadata = { items: structuredClone(request.metadataResource?.items ?? []), fingerprint };
      return operation({ zone: request.zone }, 'instances.setMetadata');
    }),
  );
  stub(clients.instances, 'getGuestAttributes', (request: { instance: string; queryPath: string }) =>
    handle('compute.instances.getGuestAttributes', request, () => {
      if (!instances.has(request.instance)) throw notFound(request.instance);
      const items = [...(guestAttributes.get(request.instance) ?? new Map<string, string>())]
        .filter(([key]) => key.startsWith(request.queryPath))
        .map(([key, value]) => ({ namespace: key.slice(0, key.indexOf('/')), key: key.slice(key.indexOf('/') + 1), value }));
      if (items.length === 0) throw notFound(`guest attributes ${request.queryPath}`);
      return [{ queryPath: request.queryPath, queryValue: { items } }];
    }),
  );
  // Compute Engine: a Patroni cluster's internal load balancer.
  const balancer = (
    kind: string,
    client: object,
    key: string,
    resourceField: string,
    scope: 'zone' | 'region',
    onInsert?: (resource: { name: string }) => void,
  ) => {
    const parts = new Map<string, unknown>();
    stub(
      client,
      'get' as never,
      getter(`compute.${kind}.get`, parts, (request: Record<string, string>) => request[key]!),
    );
    stub(client, 'insert' as never, (request: Record<string, unknown>) =>
      handle(`compute.${kind}.insert`, request, () => {
        const resource = request[resourceField] as { name: string };
        if (parts.has(resource.name)) throw exists(resource.name);
        const stored = { ...structuredClone(resource) };
        onInsert?.(stored);
        parts.set(resource.name, stored);
        return operation({ [scope]: request[scope] as string }, `${kind}.insert`);
      }),
    );
    stub(client, 'delete' as never, (request: Record<string, string>) =>
      handle(`compute.${kind}.delete`, request, () => {
        if (!parts.delete(request[key]!)) throw notFound(request[key]!);
        return operation({ [scope]: request[scope] }, `${kind}.delete`);
      }),
    );
    return parts;
  };
  const healthChecks = balancer('regionHealthChecks', clients.healthChecks, 'healthCheck', 'healthCheckResource', 'region');
  const groups = balancer('instanceGroups', clients.instanceGroups, 'instanceGroup', 'instanceGroupResource', 'zone');
  const backendServices = balancer('regionBackendServices', clients.backendServices, 'backendService', 'backendServiceResource', 'region');
  const forwardingRules = balancer('forwardingRules', clients.forwardingRules, 'forwardingRule', 'forwardingRuleResource', 'region', (rule) =>
    Object.assign(rule, { IPAddress: '10.128.0.100' }),
  );
  const groupMembers = new Map<string, string[]>();
  stub(clients.instanceGroups, 'listInstances', (request: { instanceGroup: string }) =>
    handle('compute.instanceGroups.listInstances', request, () => {
      if (!groups.has(request.instanceGroup)) throw notFound(request.instanceGroup);
      return [
        (groupMembers.get(request.instanceGroup) ?? [])
          .filter((instance) => instances.has(instance.slice(instance.lastIndexOf('/') + 1)))
          .map((instance) => ({ instance })),
      ];
    }),
  );
  stub(
    clients.instanceGroups,
    'addInstances',
    (request: { zone: string; instanceGroup: string; instanceGroupsAddInstancesRequestResource: { instances: { instance: string }[] } }) =>
      handle('compute.instanceGroups.addInstances', request, () => {
        const added = request.instanceGroupsAddInstancesRequestResource.instances.map((entry) => entry.instance);
        groupMembers.set(request.instanceGroup, [...(groupMembers.get(request.instanceGroup) ?? []), ...added]);
        return operation({ zone: request.zone }, 'instanceGroups.addInstances');
      }),
  );
  balancers.push(healthChecks, groups, backendServices, forwardingRules);
  // As the load balancer's check of Patroni's /primary finds the group's members: `leaders` pass.
  stub(clients.backendServices, 'getHealth', (request: { backendService: string; resourceGroupReferenceResource: { group: string } }) =>
    handle('compute.regionBackendServices.getHealth', request, () => {
      if (!backendServices.has(request.backendService)) throw notFound(request.backendService);
      const group = request.resourceGroupReferenceResource.group.slice(request.resourceGroupReferenceResource.group.lastIndexOf('/') + 1);
      const healthStatus = (groupMembers.get(group) ?? []).map((instance) => ({
        instance,
        healthState: project.leaders.has(instance.slice(instance.lastIndexOf('/') + 1)) ? 'HEALTHY' : 'UNHEALTHY',
      }));
      return [{ healthStatus }];
    }),
  );
  stub(clients.disks, 'resize', (request: { zone: string; disk: string; disksResizeRequestResource: { sizeGb: string } }) =>
    handle('compute.disks.resize', request, () => {
      const attached = [...instances.values()]
        .flatMap((instance) => instance.disks ?? [])
        .find((disk) => disk.source?.endsWith(`/disks/${request.disk}`));
      if (!attached) throw notFound(request.disk);
      if (Number(request.disksResizeRequestResource.sizeGb) <= Number(attached.diskSizeGb))
        throw googleError(3, 400, "Invalid value for field 'resource.sizeGb': it must be larger than the disk", 'invalid');
      attached.diskSizeGb = request.disksResizeRequestResource.sizeGb;
      return operation({ zone: request.zone }, 'disks.resize');
    }),
  );
  stub(clients.zoneOperations, 'wait', waitFor('compute.zoneOperations.wait'));
  stub(clients.regionOperations, 'wait', waitFor('compute.regionOperations.wait'));
  stub(clients.globalOperations, 'wait', waitFor('compute.globalOperations.wait'));

  // Secret Manager.
  stub(clients.secrets, 'createSecret', (request: { parent: string; secretId: string; secret: unknown }) =>
    handle('secretmanager.createSecret', request, () => {
      const name = `${request.parent}/secrets/${request.secretId}`;
      if (secrets.has(name)) throw exists(name);
      secrets.set(name, { ...(request.secret as object), name });
      return [{ name }];
    }),
  );
  stub(clients.secrets, 'setIamPolicy', (request: { resource: string; policy: unknown }) =>
    handle('secretmanager.setIamPolicy', request, () => {
      if (!secrets.has(request.resource)) throw notFound(request.resource);
      secretPolicies.set(request.resource, structuredClone(request.policy));
      return [request.policy];
    }),
  );
  stub(clients.secrets, 'getIamPolicy', (request: { resource: string }) =>
    handle('secretmanager.getIamPolicy', request, () => {
      if (!secrets.has(request.resource)) throw notFound(request.resource);
      return [structuredClone(secretPolicies.get(request.resource) ?? {})];
    }),
  );
  stub(clients.secrets, 'listSecretVersions', (request: { parent: string }) =>
    handle('secretmanager.listSecretVersions', request, () => [
      (secretValues.get(request.parent) ?? []).map((_value, index) => ({ name: `${request.parent}/versions/${index + 1}`, state: 'ENABLED' })),
    ]),
  );
  stub(clients.secrets, 'addSecretVersion', (request: { parent: string; payload: { data: Buffer } }) =>
    handle('secretmanager.addSecretVersion', request, () => {
      if (!secrets.has(request.parent)) throw notFound(request.parent);
      secretValues.set(request.parent, [...(secretValues.get(request.parent) ?? []), Buffer.from(request.payload.data).toString('utf8')]);
      return [{ name: `${request.parent}/versions/${secretValues.get(request.parent)!.length}` }];
    }),
  );
  stub(clients.secrets, 'accessSecretVersion', (request: { name: string }) =>
    handle('secretmanager.accessSecretVersion', request, () => {
      const secret = request.name.replace(/\/versions\/latest$/, '');
      const value = secretValues.get(secret)?.at(-1);
      if (value === undefined) throw notFound(request.name);
      return [{ name: request.name, payload: { data: Buffer.from(value, 'utf8') } }];
    }),
  );
  stub(clients.secrets, 'listSecrets', (request: { filter?: string }) =>
    handle('secretmanager.listSecrets', request, () => {
      const wanted = [...(request.filter ?? '').matchAll(/labels\.([a-z-]+)=([a-z0-9-]+)/g)].map(([, key, value]) => [key!, value!] as const);
      return [
        [...secrets.values()].filter((secret) => {
          const labels = (secret as { labels?: Record<string, string> }).labels ?? {};
          return wanted.every(([key, value]) => labels[key] === value);
        }),
      ];
    }),
  );
  stub(clients.secrets, 'deleteSecret', (request: { name: string }) =>
    handle('secretmanager.deleteSecret', request, () => {
      if (!secrets.delete(request.name)) throw notFound(request.name);
      secretValues.delete(request.name);
      secretPolicies.delete(request.name);
      return [{}];
    }),
  );

  // IAM service accounts and Cloud Storage.
  stub(clients.serviceAccounts, 'get', (project_: string, email: string) =>
    handle('iam.serviceAccounts.get', { project: project_, email }, () => (serviceAccounts.has(email) ? { email } : undefined)),
  );
  stub(clients.serviceAccounts, 'create', (project_: string, accountId: string, displayName: string) =>
    handle('iam.serviceAccounts.create', { project: project_, accountId, displayName }, () => {
      serviceAccounts.add(`${accountId}@${project_}.iam.gserviceaccount.com`);
    }),
  );
  stub(clients.serviceAccounts, 'delete', (project_: string, email: string) =>
    handle('iam.serviceAccounts.delete', { project: project_, email }, () => {
      if (!serviceAccounts.delete(email)) throw notFound(email);
    }),
  );
  stub(clients.storage, 'createBucket', (name: string, metadata: { lifecycle?: { rule?: unknown[] } }) =>
    handle('storage.createBucket', { name, metadata }, () => {
      if (project.bucket.exists) throw Object.assign(new Error('You already own this bucket.'), { code: 409 });
      project.bucket.exists = true;
      project.bucket.lifecycle = structuredClone(metadata.lifecycle?.rule ?? []);
      return [{ name }];
    }),
  );
  const iam = {
    getPolicy: (options: unknown) => handle('storage.getIamPolicy', options, () => [structuredClone(bucketPolicy)]),
    setPolicy: (policy: FakeProject['bucketPolicy']) =>
      handle('storage.setIamPolicy', policy, () => {
        bucketPolicy.bindings = structuredClone(policy.bindings);
        bucketPolicy.version = policy.version;
        return [policy];
      }),
  };
  // Objects, through the same File methods the provider calls: exists, download, delete.
  const file = (bucket: string, key: string) => {
    const url = `gs://${bucket}/${key}`;
    return {
      exists: () => handle('storage.objects.exists', { bucket, key }, () => [project.objects.has(url)]),
      download: () =>
        handle('storage.objects.get', { bucket, key }, () => {
          const body = project.objects.get(url);
          if (body === undefined) throw Object.assign(new Error(`No such object: ${bucket}/${key}`), { code: 404 });
          return [Buffer.from(body, 'utf8')];
        }),
      delete: (options: { ignoreNotFound?: boolean }) =>
        handle('storage.objects.delete', { bucket, key, options }, () => {
          if (!project.objects.delete(url) && !options.ignoreNotFound)
            throw Object.assign(new Error(`No such object: ${bucket}/${key}`), { code: 404 });
          return [{}];
        }),
    };
  };
  // The bucket's metadata, through the Bucket methods the provider calls: getMetadata, setMetadata.
  const getMetadata = (name: string) => () =>
    handle('storage.buckets.get', { bucket: name }, () => [
      { name, ...(project.bucket.lifecycle.length > 0 ? { lifecycle: { rule: structuredClone(project.bucket.lifecycle) } } : {}) },
    ]);
  const setMetadata = (name: string) => (metadata: { lifecycle?: { rule?: unknown[] } }) =>
    handle('storage.buckets.update', { bucket: name, metadata }, () => {
      if (metadata.lifecycle) project.bucket.lifecycle = structuredClone(metadata.lifecycle.rule ?? []);
      return [metadata];
    });
  stub(clients.storage, 'bucket', (name: string) => ({
    iam,
    file: (key: string) => file(name, key),
    getMetadata: getMetadata(name),
    setMetadata: setMetadata(name),
  }));

  return project;
}

/** Marks every instance RUNNING with its agent ready, as a booted node would be. */
export function bootInstances(project: FakeProject): void {
  for (const [name, instance] of project.instances) {
    instance.status = 'RUNNING';
    const attributes = project.guestAttributes.get(name) ?? new Map<string, string>();
    attributes.set('cloudseed/agent', 'ready');
    project.guestAttributes.set(name, attributes);
  }
}

export interface GcpTargetOptions {
  readonly replicas?: number;
  readonly sizeGiB?: number;
  readonly allowedCidrs?: string[];
  readonly machineType?: string;
}

export function gcpTarget(options: GcpTargetOptions = {}, planId = PLAN_ID): DeployTarget {
  const replicas = options.replicas ?? 0;
  const input: PlanInput = {
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'gcp', project: PROJECT, region: REGION, zone: ZONE },
    components: [
      {
        id: 'db',
        type: 'postgres',
        hardware: {
          cpus: 2,
          memoryGiB: 8,
          storage: { sizeGiB: options.sizeGiB ?? 50 },
          ...(options.machineType ? { gcp: { machineType: options.machineType } } : {}),
        },
        db: { version: '16', maxConnections: 100, topology: replicas > 0 ? { mode: 'cluster', replicas } : { mode: 'single', replicas: 0 } },
        network: { allowedCidrs: options.allowedCidrs ?? ['203.0.113.0/24'] },
      },
    ],
  };
  const result = validatePlan(input);
  if (!result.ok) throw new Error(`invalid test plan: ${JSON.stringify(result.errors)}`);
  const [component] = postgresComponents(result.plan);
  if (!component) throw new Error('the test plan has no component');
  return { ownerId: 'owner-1', planId, planName: result.plan.name, deploymentId: 'dep-1', target: result.plan.target, component };
}

export const sleep = sinon.stub<[number], Promise<void>>().resolves();
export const clock = { now: () => 0, sleep };

export function gcpProvider(project: FakeProject, options: { now?: () => number } = {}): GcpProvider {
  return new GcpProvider({
    authFor: () => new OAuth2Client(),
    clientsFor: () => project.clients,
    clock: { now: options.now ?? (() => 0), sleep },
  });
}
