import { renderCertificateAuthoritySecret, renderGcpComponent, renderGcpNetwork } from '@cloudseed/shared/targets/gcp/index';
import { commandMetadataValue } from '@cloudseed/shared/targets/gcp/agent';
import { METRICS_LIFECYCLE_RULE, requestIdFor } from '@cloudseed/shared/targets/gcp/gcp-json';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountAccessError, CapacityError, PermanentError, TransientError } from '../providers/errors.ts';
import { GcpProvider } from '../providers/gcp/index.ts';
import { commandIdFor } from '../providers/gcp/commands.ts';
import type { DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { describeProvider } from './support/provider-contract.ts';
import { bootInstances, fakeProject, gcpProvider, gcpTarget, googleError, PLAN_ID, PROJECT, REGION, sleep, ZONE } from './support/gcp-project.ts';
import type { FakeProject } from './support/gcp-project.ts';

// GcpProvider against an in-memory project behind the real Google client libraries, whose methods
// are sinon stubs (support/gcp-project.ts): the exact requests it sends, what it does when they are
// sent again, how Google's failures come out, and the agent's command channel seen from the
// provider's side. gcp-wire.test.ts checks one request as it goes over the wire.

let project: FakeProject;
let provider: Provider;
let target: DeployTarget;

beforeEach(() => {
  sleep.resetHistory();
  project = fakeProject();
  provider = gcpProvider(project);
  target = gcpTarget();
});

const where = { planId: PLAN_ID, planName: 'orders', project: PROJECT, region: REGION, zone: ZONE };
const documentOf = (deployTarget: DeployTarget) => renderGcpComponent(deployTarget.component, where);

async function deploy(deployTarget = target): Promise<NodeRef[]> {
  await provider.ensurePassword(deployTarget);
  const network = await provider.ensureSecurityGroup(deployTarget);
  return provider.launchNodes(deployTarget, network);
}

describeProvider('GCP', () => {
  const fake = fakeProject();
  return Promise.resolve({ provider: gcpProvider(fake), target: gcpTarget(), leftovers: () => Promise.resolve(fake.resources()) });
});

describe('preflight', () => {
  it('refuses a plan when no Google Cloud project is connected, before calling Google', async () => {
    const unconnected = new GcpProvider({ clientsFor: () => project.clients });

    await expect(unconnected.preflight(target)).rejects.toThrow(AccountAccessError);
    await expect(unconnected.preflight(target)).rejects.toThrow(/names no connected Google Cloud project/);
    expect(project.calls).toEqual([]);
  });

  it('maps a refused project to AccountAccessError with the status as its code', async () => {
    project.failNext('compute.networks.list', googleError(7, 403, "Required 'compute.networks.list' permission for 'projects/acme-prod-4821'"));

    const error = await provider.preflight(target).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccountAccessError);
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((error as Error).message).toMatch(/^compute\.networks\.list failed: PERMISSION_DENIED/);
  });
});

describe('the network', () => {
  it('creates the plan VPC, subnet and router, and the component firewall rules, exactly as gcp-json renders them', async () => {
    const network = await provider.ensureSecurityGroup(target);
    const rendered = renderGcpNetwork(where);

    expect(network).toEqual({ networkId: `projects/${PROJECT}/global/networks/cs-${PLAN_ID}` });
    expect(project.requestsOf('compute.networks.insert')).toEqual([
      { project: PROJECT, requestId: requestIdFor(`${PLAN_ID}/network`), networkResource: rendered.network },
    ]);
    expect(project.requestsOf('compute.subnetworks.insert')).toEqual([
      { project: PROJECT, region: REGION, requestId: requestIdFor(`${PLAN_ID}/subnetwork`), subnetworkResource: rendered.subnetwork },
    ]);
    expect(project.requestsOf('compute.routers.insert')).toEqual([
      { project: PROJECT, region: REGION, requestId: requestIdFor(`${PLAN_ID}/router`), routerResource: rendered.router },
    ]);
    expect(project.requestsOf('compute.firewalls.insert')).toEqual(
      documentOf(target).firewalls.map((rule) => ({ project: PROJECT, firewallResource: rule })),
    );
  });

  it('sends nothing new when it runs again, and converges the rules when allowedCidrs change', async () => {
    await provider.ensureSecurityGroup(target);
    const inserts = project.calls.filter((entry) => /insert|update|delete/.test(entry.method)).length;
    await provider.ensureSecurityGroup(target);
    expect(project.calls.filter((entry) => /insert|update|delete/.test(entry.method))).toHaveLength(inserts);

    const moved = gcpTarget({ allowedCidrs: ['198.51.100.0/24', '2001:db8::/32'] });
    await provider.ensureSecurityGroup(moved);
    const rules = documentOf(moved).firewalls;
    expect(project.requestsOf('compute.firewalls.update')).toEqual([
      { project: PROJECT, firewall: `cs-${PLAN_ID}-db-postgres-v4`, firewallResource: rules.find((rule) => rule.name.endsWith('postgres-v4')) },
    ]);
    expect(project.requestsOf('compute.firewalls.insert').at(-1)).toEqual({
      project: PROJECT,
      firewallResource: rules.find((rule) => rule.name.endsWith('postgres-v6')),
    });

    await provider.ensureSecurityGroup(gcpTarget({ allowedCidrs: ['198.51.100.0/24'] }));
    expect(project.requestsOf('compute.firewalls.delete')).toEqual([{ project: PROJECT, firewall: `cs-${PLAN_ID}-db-postgres-v6` }]);
  });

  it('waits for a running operation with the operations API of its scope', async () => {
    project.slowOperations = true;

    await provider.ensureSecurityGroup(target);

    expect(project.requestsOf('compute.globalOperations.wait')[0]).toEqual({ project: PROJECT, operation: 'operation-1' });
    expect(project.requestsOf('compute.regionOperations.wait')[0]).toEqual({ project: PROJECT, region: REGION, operation: 'operation-2' });
  });
});

describe('secrets', () => {
  it('creates each secret with its IAM policy and one version, and keeps the password when it runs again', async () => {
    await provider.ensurePassword(target);
    const password = await provider.readPassword(target);
    const document = documentOf(target);

    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(project.requestsOf('secretmanager.createSecret')[0]).toEqual({
      parent: document.secret.parent,
      secretId: document.secret.secretId,
      secret: document.secret.secret,
    });
    expect(project.secretPolicies.get(`${document.secret.parent}/secrets/${document.secret.secretId}`)).toEqual(document.secret.iamPolicy);
    await provider.ensurePassword(target);
    expect(await provider.readPassword(target)).toBe(password);
    expect(project.secretValues.get(`${document.secret.parent}/secrets/${document.secret.secretId}`)).toEqual([password]);
    expect(await provider.readCaCertificate(target)).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  });

  it('gives a secret that a stopped run left without a version its value', async () => {
    project.failNext('secretmanager.addSecretVersion', googleError(14, 503, 'The service is currently unavailable.'));
    await expect(provider.ensurePassword(target)).rejects.toThrow(TransientError);

    await provider.ensurePassword(target);

    expect(await provider.readPassword(target)).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('sends the password in no request but its own secret version', async () => {
    const nodes = await deploy();
    bootInstances(project);
    await provider.sendCommand(target, nodes, 'configure');
    const password = await provider.readPassword(target);

    const elsewhere = project.calls.filter(
      (entry) => entry.method !== 'secretmanager.addSecretVersion' && JSON.stringify(entry.request).includes(password),
    );
    expect(elsewhere).toEqual([]);
  });

  it('adds each component to the readers of the plan certificate authority', async () => {
    const other = gcpTarget();
    const second = { ...other, component: { ...other.component, id: 'reports' } };
    await provider.ensurePassword(target);
    await provider.ensurePassword(second);

    const secret = renderCertificateAuthoritySecret(where, []);
    const authority = project.secretPolicies.get(`${secret.parent}/secrets/${secret.secretId}`) as { bindings: { members: string[] }[] };
    expect(authority.bindings[0]!.members).toEqual(
      [documentOf(target).serviceAccount.email, documentOf(second).serviceAccount.email].map((email) => `serviceAccount:${email}`).sort(),
    );
  });
});

describe('launching the nodes', () => {
  it('makes the service account, the backup binding and each instance from the document, with its request id', async () => {
    const nodes = await deploy(gcpTarget({ replicas: 1 }));
    const document = documentOf(gcpTarget({ replicas: 1 }));

    expect(project.requestsOf('iam.serviceAccounts.create')).toEqual([
      { project: PROJECT, accountId: document.serviceAccount.accountId, displayName: document.serviceAccount.displayName },
    ]);
    expect(project.bucketPolicy.bindings).toEqual([document.backup.bucket.iamBinding]);
    expect(project.requestsOf('compute.instances.insert')).toEqual(
      document.instances.map((insert) => ({ project: PROJECT, zone: ZONE, requestId: insert.requestId, instanceResource: insert.instanceResource })),
    );
    expect(nodes).toEqual([
      { name: 'db-0', role: 'primary', nodeId: `cs-${PLAN_ID}-db-0`, host: '10.128.0.11', port: 5432 },
      { name: 'db-1', role: 'replica', nodeId: `cs-${PLAN_ID}-db-1`, host: '10.128.0.12', port: 5432 },
    ]);
  });

  it('makes the backup bucket with the rule that removes replaced metrics files, and adds it to a bucket made before it', async () => {
    await deploy(gcpTarget());
    expect(project.bucket.lifecycle).toEqual([METRICS_LIFECYCLE_RULE]);
    expect(project.requestsOf('storage.buckets.update')).toEqual([]);

    // A bucket from before the rule, with a rule of the customer's own: the rule joins it, once.
    const own = { action: { type: 'SetStorageClass', storageClass: 'COLDLINE' }, condition: { age: 365 } };
    project.bucket.lifecycle = [own];
    await deploy(gcpTarget({ sizeGiB: 80 }));
    await deploy(gcpTarget({ sizeGiB: 90 }));
    expect(project.bucket.lifecycle).toEqual([own, METRICS_LIFECYCLE_RULE]);
    expect(project.requestsOf('storage.buckets.update')).toHaveLength(1);
  });

  it('deploys when the connection’s role may not change the bucket’s lifecycle (a role from before the rule)', async () => {
    await deploy(gcpTarget());
    project.bucket.lifecycle = [];
    project.failNext('storage.buckets.get', googleError(7, 403, 'cloudseed-deployer does not have storage.buckets.get access'));

    const nodes = await deploy(gcpTarget({ sizeGiB: 80 }));

    expect(nodes.map((node) => node.name)).toEqual(['db-0']);
    expect(project.bucket.lifecycle).toEqual([]);
    expect(project.bucketPolicy.bindings).toHaveLength(1);
  });

  it('fails with CapacityError when the zone has no room, and keeps the code Google gave', async () => {
    project.operationErrors.set('instances.insert', {
      errors: [
        { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available.` },
      ],
    });

    const error = await deploy().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toMatchObject({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
  });

  it('retries an insert that named a service account Compute Engine does not see yet', async () => {
    const email = documentOf(target).serviceAccount.email;
    project.failNext('compute.instances.insert', googleError(3, 400, `The resource 'projects/${PROJECT}/serviceAccounts/${email}' was not found`));

    await expect(deploy()).rejects.toThrow(TransientError);
    expect(await deploy()).toHaveLength(1);
  });

  it('changes the machine type of each node in place, replicas first: stop, set the type, start; and refuses Arm for x86', async () => {
    const nodes = await deploy(gcpTarget({ replicas: 1 }));
    bootInstances(project);
    const resized = gcpTarget({ replicas: 1, machineType: 'n2-standard-2' });

    expect(await deploy(resized)).toEqual(nodes);
    const steps = project.calls
      .filter((call) => /^compute\.instances\.(stop|setMachineType|start)$/.test(call.method))
      .map((call) => `${call.method.slice('compute.instances.'.length)} ${(call.request as { instance: string }).instance}`);
    expect(steps).toEqual([
      `stop ${nodes[1]!.nodeId}`,
      `setMachineType ${nodes[1]!.nodeId}`,
      `start ${nodes[1]!.nodeId}`,
      `stop ${nodes[0]!.nodeId}`,
      `setMachineType ${nodes[0]!.nodeId}`,
      `start ${nodes[0]!.nodeId}`,
    ]);
    expect(project.requestsOf('compute.instances.setMachineType')[0]).toEqual({
      project: PROJECT,
      zone: ZONE,
      instance: nodes[1]!.nodeId,
      instancesSetMachineTypeRequestResource: { machineType: `zones/${ZONE}/machineTypes/n2-standard-2` },
    });
    expect([...project.instances.values()].map((instance) => [instance.machineType, instance.status])).toEqual([
      [`zones/${ZONE}/machineTypes/n2-standard-2`, 'RUNNING'],
      [`zones/${ZONE}/machineTypes/n2-standard-2`, 'RUNNING'],
    ]);

    // Again: nothing to do. A node an earlier attempt left stopped is started.
    await deploy(resized);
    expect(project.requestsOf('compute.instances.stop')).toHaveLength(2);
    project.instances.get(nodes[0]!.nodeId)!.status = 'TERMINATED';
    await deploy(resized);
    expect(project.requestsOf('compute.instances.start')).toHaveLength(3);
    expect(project.requestsOf('compute.instances.setMachineType')).toHaveLength(2);

    await expect(deploy(gcpTarget({ replicas: 1, machineType: 't2a-standard-2' }))).rejects.toThrow(
      /runs on n2-standard-2, and the plan now asks for t2a-standard-2: a node cannot move between Arm and x86 in place/,
    );
  });

  it('grows the data disk of each node online when the plan asks for more, and refuses to shrink it', async () => {
    const nodes = await deploy(gcpTarget({ replicas: 1 }));

    expect(await deploy(gcpTarget({ replicas: 1, sizeGiB: 80 }))).toEqual(nodes);
    expect(project.requestsOf('compute.disks.resize')).toEqual(
      nodes.map((node) => ({ project: PROJECT, zone: ZONE, disk: `${node.nodeId}-pgdata`, disksResizeRequestResource: { sizeGb: '80' } })),
    );
    await deploy(gcpTarget({ replicas: 1, sizeGiB: 80 }));
    expect(project.requestsOf('compute.disks.resize')).toHaveLength(2);
    await expect(deploy(gcpTarget({ replicas: 1, sizeGiB: 60 }))).rejects.toThrow(
      `the data disk of node ${nodes[0]!.nodeId} is 80 GiB but the plan asks for 60 GiB: disks only grow. Plan at least 80 GiB`,
    );
  });

  it('is ready once each instance runs and its agent has said so', async () => {
    const nodes = await deploy();

    expect(await provider.nodesReady(target, nodes)).toEqual({ state: 'pending', detail: '0 of 1 nodes running with their agent ready' });
    bootInstances(project);
    expect(await provider.nodesReady(target, nodes)).toEqual({ state: 'done' });
    project.instances.get(nodes[0]!.nodeId)!.status = 'TERMINATED';
    expect(await provider.nodesReady(target, nodes)).toEqual({ state: 'failed', reason: `node db-0 (${nodes[0]!.nodeId}) is terminated` });
    expect(await provider.health(target, nodes)).toEqual([{ name: 'db-0', role: 'primary', healthy: false, detail: 'the instance is terminated' }]);
  });
});

describe('commands through the agent', () => {
  it('sets the command key with the metadata fingerprint, once however often the step runs', async () => {
    const nodes = await deploy();
    bootInstances(project);

    const command = await provider.sendCommand(target, nodes, 'install');
    await provider.sendCommand(target, nodes, 'install');

    const [id] = command.commandIds;
    expect(command).toEqual({
      kind: 'install',
      commandIds: [commandIdFor('install', 'dep-1/db/db-0/install')],
      nodeIds: nodes.map((node) => node.nodeId),
    });
    const writes = project.requestsOf('compute.instances.setMetadata') as {
      metadataResource: { fingerprint: string; items: { key: string; value: string }[] };
    }[];
    expect(writes).toHaveLength(1);
    expect(writes[0]!.metadataResource.fingerprint).toBe('fp-1');
    expect(writes[0]!.metadataResource.items.find((item) => item.key === 'cloudseed-command')?.value).toBe(
      commandMetadataValue(id!, documentOf(target).scripts.install),
    );
    expect(writes[0]!.metadataResource.items.map((item) => item.key)).toContain('startup-script');
  });

  it('tells each node of a cluster its role and its peer address ahead of configure', async () => {
    const cluster = gcpTarget({ replicas: 1 });
    const nodes = await deploy(cluster);

    await provider.sendCommand(cluster, nodes, 'configure');

    const scripts = (project.requestsOf('compute.instances.setMetadata') as { metadataResource: { items: { key: string; value: string }[] } }[]).map(
      (write) => {
        const value = write.metadataResource.items.find((item) => item.key === 'cloudseed-command')!.value;
        return Buffer.from(value.split('\n')[1]!, 'base64').toString('utf8');
      },
    );
    expect(scripts[0]).toMatch(/^export CLOUDSEED_NODE_ROLE='primary'\nexport CLOUDSEED_REPLICA_HOSTS='10\.128\.0\.12'\n#!\/usr\/bin\/env bash\n/);
    expect(scripts[1]).toMatch(/^export CLOUDSEED_NODE_ROLE='replica'\nexport CLOUDSEED_PRIMARY_HOST='10\.128\.0\.11'\n#!\/usr\/bin\/env bash\n/);
  });

  it('reads what the agent reports: pending while it runs, done on exit 0, failed with the end of standard error', async () => {
    const nodes = await deploy();
    const command = await provider.sendCommand(target, nodes, 'configure');
    const [id] = command.commandIds;
    const attributes = new Map<string, string>();
    project.guestAttributes.set(nodes[0]!.nodeId, attributes);

    expect(await provider.commandStatus(target, command)).toEqual({ state: 'pending', detail: 'configure has ended on 0 of 1 nodes' });
    attributes.set(`cloudseed/${id}-state`, 'running');
    expect((await provider.commandStatus(target, command)).state).toBe('pending');
    attributes.set(`cloudseed/${id}-state`, 'exit 1');
    attributes.set(`cloudseed/${id}-stderr`, 'initdb: error: directory "/var/lib/postgresql/16/main" exists but is not empty\n');
    expect(await provider.commandStatus(target, command)).toEqual({
      state: 'failed',
      reason: `configure failed on ${nodes[0]!.nodeId} (exit 1): initdb: error: directory "/var/lib/postgresql/16/main" exists but is not empty`,
    });
    attributes.set(`cloudseed/${id}-state`, 'exit 0');
    expect(await provider.commandStatus(target, command)).toEqual({ state: 'done' });
  });

  it('verifies each node with verify.sh and fails with what it said', async () => {
    const nodes = await deploy();
    bootInstances(project);
    sleep.callsFake(() => {
      const write = project.requestsOf('compute.instances.setMetadata').at(-1) as { metadataResource: { items: { key: string; value: string }[] } };
      const id = write.metadataResource.items.find((item) => item.key === 'cloudseed-command')!.value.split('\n')[0]!;
      project.guestAttributes.get(nodes[0]!.nodeId)!.set(`cloudseed/${id}-state`, 'exit 1');
      project.guestAttributes.get(nodes[0]!.nodeId)!.set(`cloudseed/${id}-stderr`, "the application role's connection is not TLS\n");
      return Promise.resolve();
    });

    await expect(provider.verify(target, nodes)).rejects.toThrow(
      /the verification failed on .* \(exit 1\): the application role's connection is not TLS/,
    );
    const script = (
      project.requestsOf('compute.instances.setMetadata').at(-1) as { metadataResource: { items: { key: string; value: string }[] } }
    ).metadataResource.items
      .find((item) => item.key === 'cloudseed-command')!
      .value.split('\n')[1]!;
    expect(Buffer.from(script, 'base64').toString('utf8')).toContain(`PROJECT='${PROJECT}'`);
    sleep.resetBehavior();
    sleep.resolves();
  });
});

describe('a Patroni cluster', () => {
  const patroni = () => gcpTarget({ replicas: 2 });

  it("reports who leads now as the load balancer's check of Patroni's /primary finds it, and a cluster without a leader", async () => {
    const nodes = await deploy(patroni());
    bootInstances(project);
    const [, db1, db2] = nodes.map((node) => node.nodeId);

    project.leaders.add(db1!);
    expect(await provider.health(patroni(), nodes)).toEqual([
      { name: 'db-0', role: 'replica', healthy: true },
      { name: 'db-1', role: 'primary', healthy: true },
      { name: 'db-2', role: 'replica', healthy: true },
    ]);
    expect(project.requestsOf('compute.regionBackendServices.getHealth')[0]).toEqual({
      project: PROJECT,
      region: REGION,
      backendService: documentOf(patroni()).endpoint!.backendService['name'],
      resourceGroupReferenceResource: {
        group: `projects/${PROJECT}/zones/${ZONE}/instanceGroups/${String(documentOf(patroni()).endpoint!.instanceGroup['name'])}`,
      },
    });

    project.leaders.clear();
    project.instances.get(db2!)!.status = 'TERMINATED';
    expect(await provider.health(patroni(), nodes)).toEqual([
      {
        name: 'db-0',
        role: 'primary',
        healthy: false,
        detail: "no node passes the load balancer's check of Patroni's /primary: the cluster has no leader now",
      },
      { name: 'db-1', role: 'replica', healthy: true },
      { name: 'db-2', role: 'replica', healthy: false, detail: 'the instance is terminated' },
    ]);
  });

  it('puts an internal load balancer in front of the nodes, exactly as gcp-json renders it, once', async () => {
    const nodes = await deploy(patroni());
    const endpoint = documentOf(patroni()).endpoint!;

    expect(project.requestsOf('compute.regionHealthChecks.insert')).toEqual([
      { project: PROJECT, region: REGION, healthCheckResource: endpoint.healthCheck },
    ]);
    expect(project.requestsOf('compute.instanceGroups.insert')).toEqual([
      { project: PROJECT, zone: ZONE, instanceGroupResource: endpoint.instanceGroup },
    ]);
    expect(project.requestsOf('compute.instanceGroups.addInstances')).toEqual([
      {
        project: PROJECT,
        zone: ZONE,
        instanceGroup: endpoint.instanceGroup['name'],
        instanceGroupsAddInstancesRequestResource: endpoint.instanceGroupMembers,
      },
    ]);
    expect(project.requestsOf('compute.regionBackendServices.insert')).toEqual([
      { project: PROJECT, region: REGION, backendServiceResource: endpoint.backendService },
    ]);
    expect(project.requestsOf('compute.forwardingRules.insert')).toEqual([
      { project: PROJECT, region: REGION, forwardingRuleResource: endpoint.forwardingRule },
    ]);
    expect(await provider.ensureEndpoint(patroni(), nodes)).toEqual({ host: '10.128.0.100', port: 5432 });

    const changes = () =>
      project.calls.filter((entry) =>
        /^compute\.(regionHealthChecks|instanceGroups|regionBackendServices|forwardingRules|instances)\.(insert|addInstances)$/.test(entry.method),
      ).length;
    const before = changes();
    await deploy(patroni());
    expect(changes()).toBe(before);
  });

  it("tells each node the members, etcd's three and the load balancer's address ahead of configure", async () => {
    const nodes = await deploy(patroni());

    await provider.sendCommand(patroni(), nodes, 'configure');

    const first = (
      project.requestsOf('compute.instances.setMetadata')[0] as { metadataResource: { items: { key: string; value: string }[] } }
    ).metadataResource.items.find((item) => item.key === 'cloudseed-command')!.value;
    const script = Buffer.from(first.split('\n')[1]!, 'base64').toString('utf8');
    expect(script).toMatch(
      /^export CLOUDSEED_NODE_ROLE='primary'\nexport CLOUDSEED_NODE_NAME='db-0'\nexport CLOUDSEED_PRIMARY_HOST='10\.128\.0\.11'\nexport CLOUDSEED_REPLICA_HOSTS='10\.128\.0\.11 10\.128\.0\.12 10\.128\.0\.13'\nexport CLOUDSEED_ETCD_HOSTS='10\.128\.0\.11 10\.128\.0\.12 10\.128\.0\.13'\nexport CLOUDSEED_ETCD_MEMBER='0'\nexport CLOUDSEED_ENDPOINT_HOST='10\.128\.0\.100'\n/,
    );
  });

  it('refuses to configure before its load balancer exists, and removes it with the plan', async () => {
    const nodes = await deploy(patroni());
    await provider.destroy(patroni());

    await expect(provider.sendCommand(patroni(), nodes, 'configure')).rejects.toThrow(/the load balancer of db does not exist yet/);
    expect(project.resources()).toEqual([]);
  });
});

describe('teardown', () => {
  it('removes the instances, the rules, the network, the secrets, the binding and the account, and a second run changes nothing', async () => {
    await deploy(gcpTarget({ replicas: 1 }));
    expect(project.resources()).not.toEqual([]);

    project.failNext('secretmanager.deleteSecret', googleError(14, 503, 'The service is currently unavailable.'));
    await expect(provider.destroy(gcpTarget({ replicas: 1 }))).rejects.toThrow(TransientError);
    await provider.destroy(gcpTarget({ replicas: 1 }));

    expect(project.resources()).toEqual([]);
    await provider.destroy(gcpTarget({ replicas: 1 }));
    expect(project.resources()).toEqual([]);
  });

  it('keeps the plan network while another component still has rules in it', async () => {
    const other = gcpTarget();
    const reports = { ...other, component: { ...other.component, id: 'reports' } };
    await deploy();
    await deploy(reports);

    await provider.destroy(target);

    expect(project.resources().filter((line) => /^(network|subnetwork|router) /.test(line))).toHaveLength(3);
    expect(
      project
        .resources()
        .filter((line) => line.startsWith('firewall '))
        .every((line) => line.includes('-reports-')),
    ).toBe(true);
  });
});

describe('a switchover', () => {
  const patroni = () => gcpTarget({ replicas: 2 });

  /** The agent as the tests play it: the command last written to a node's metadata ends with `exit`. */
  function agentAnswers(exit: number, stderr = '') {
    sleep.callsFake(() => {
      for (const [name, instance] of project.instances) {
        const value = instance.metadata?.items?.find((item) => item.key === 'cloudseed-command')?.value;
        if (!value) continue;
        const id = value.split('\n')[0]!;
        project.guestAttributes.get(name)!.set(`cloudseed/${id}-state`, `exit ${exit}`);
        if (stderr) project.guestAttributes.get(name)!.set(`cloudseed/${id}-stderr`, stderr);
      }
      return Promise.resolve();
    });
  }

  /** The script sent to an instance, decoded. */
  const scriptOn = (instance: string) =>
    Buffer.from(
      project.instances
        .get(instance)!
        .metadata!.items!.find((item) => item.key === 'cloudseed-command')!
        .value!.split('\n')[1]!,
      'base64',
    ).toString('utf8');

  it("asks the leader's Patroni, found by the load balancer, to hand over to the candidate through its agent", async () => {
    const nodes = await deploy(patroni());
    bootInstances(project);
    const [db0, db1, db2] = nodes.map((node) => node.nodeId);
    project.leaders.add(db1!);
    agentAnswers(0);

    expect(await provider.switchover(patroni(), 'db-2')).toEqual({ from: 'db-1', to: 'db-2' });
    const script = scriptOn(db1!);
    expect(script).toContain("LEADER='db-1'");
    expect(script).toContain("CANDIDATE='db-2'");
    expect(script).toContain(`PROJECT='${PROJECT}'`);
    expect(script).toContain(`REST_PASSWORD_PARAMETER='${documentOf(patroni()).patroni!.restPasswordSecret.secretId}'`);
    expect(script).toContain('/switchover');
    expect(project.instances.get(db0!)!.metadata?.items?.some((item) => item.key === 'cloudseed-command')).toBeFalsy();
    expect(project.instances.get(db2!)!.metadata?.items?.some((item) => item.key === 'cloudseed-command')).toBeFalsy();

    // No candidate: the first running replica.
    expect(await provider.switchover(patroni())).toEqual({ from: 'db-1', to: 'db-0' });
  });

  it("refuses a single server, a cluster without a leader, the leader, an unknown or stopped node, and fails with Patroni's answer", async () => {
    await expect(provider.switchover(target)).rejects.toThrow(/db is a single server: it has no replica to hand over to/);
    const nodes = await deploy(patroni());
    bootInstances(project);
    await expect(provider.switchover(patroni())).rejects.toThrow(/db has no leader now/);
    project.leaders.add(nodes[0]!.nodeId);
    await expect(provider.switchover(patroni(), 'db-0')).rejects.toThrow(/db-0 leads db already/);
    await expect(provider.switchover(patroni(), 'db-9')).rejects.toThrow(/db-9 is not a node of db/);
    project.instances.get(nodes[2]!.nodeId)!.status = 'TERMINATED';
    await expect(provider.switchover(patroni(), 'db-2')).rejects.toThrow(/db-2 is not running/);
    agentAnswers(1, 'Patroni did not switch over (HTTP 412): candidate name does not match with sync_standby\n');
    const error = await provider.switchover(patroni(), 'db-1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/the switchover failed on .* \(exit 1\): Patroni did not switch over \(HTTP 412\)/);
  });
});

afterEach(() => {
  sleep.resetBehavior();
  sleep.resolves();
});
