import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKUP_RESOURCE_GROUP } from '@cloudseed/shared/targets/azure/azure-json';
import { AccountAccessError, CapacityError, PermanentError, TransientError } from '../providers/errors.ts';
import { AZURE_PROVIDER_ACTIONS, AZURE_PROVIDER_DATA_ACTIONS, AzureProvider } from '../providers/azure/index.ts';
import type { DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { actionOf, TENANT_ID } from './support/azure-arm.ts';
import type { FakeArm, RecordedRequest } from './support/azure-arm.ts';
import { azureProvider, azureTarget, credential, documentOf, groupId, RESOURCE_GROUP, seededArm } from './support/azure-fixtures.ts';
import { describeProvider } from './support/provider-contract.ts';

// AzureProvider against an in-memory ARM behind the SDKs' HttpClient: the exact requests it sends
// (bodies as azure-json renders them, plus only what the deploy step knows), what it does again
// when a step runs twice, how Azure's failures reach the workflow, and one VM write checked on the
// wire with the SDK's own HTTP client.

let plans = 0;
const nextPlanId = (): string => `p-${(plans += 1)}`;

/** The requests with this method whose path is `id`. */
const sentTo = (arm: FakeArm, method: string, id: string): RecordedRequest[] =>
  arm.requests.filter((request) => request.method === method && request.path.toLowerCase() === id.toLowerCase());

const only = <T>(items: readonly T[]): T => {
  expect(items).toHaveLength(1);
  return items[0]!;
};

async function deploy(provider: Provider, target: DeployTarget): Promise<NodeRef[]> {
  await provider.preflight(target);
  await provider.ensurePassword(target);
  return provider.launchNodes(target, await provider.ensureSecurityGroup(target));
}

/** What the plan holds in the fake ARM: all but the customer's resource groups and the shared backup account and container. */
const leftoversOf = (arm: FakeArm, target: DeployTarget) => (): Promise<string[]> => {
  const { backup } = documentOf(target);
  const shared = new Set([groupId(RESOURCE_GROUP), groupId(BACKUP_RESOURCE_GROUP), backup.storageAccount.id, backup.containerId]);
  return Promise.resolve(arm.ids().filter((id) => !shared.has(id)));
};

describeProvider('Azure', () => {
  const arm = seededArm();
  const target = azureTarget(nextPlanId());
  return Promise.resolve({ provider: azureProvider(arm), target, leftovers: leftoversOf(arm, target) });
});

describe('AzureProvider requests', () => {
  it('writes every resource with the body azure-json renders, plus only the deploy-time fields', async () => {
    const arm = seededArm();
    const target = azureTarget(nextPlanId());
    const document = documentOf(target);
    await deploy(azureProvider(arm), target);

    const put = (id: string) => only(sentTo(arm, 'PUT', id));
    const group = document.network.networkSecurityGroup;
    expect(put(group.id)).toMatchObject({ apiVersion: '2024-05-01', body: group.body });
    expect(put(document.identity.id)).toMatchObject({ apiVersion: '2023-01-31', body: document.identity.body });
    const principalId = arm.body(document.identity.id)?.properties?.['principalId'];
    for (const assignment of document.identity.roleAssignments) {
      const properties = assignment.body['properties'] as Record<string, unknown>;
      expect(put(assignment.id)).toMatchObject({ apiVersion: '2022-04-01', body: { properties: { ...properties, principalId } } });
      expect(put(assignment.id).body).toEqual({ properties: { ...properties, principalId } });
    }
    const vault = document.keyVault;
    const vaultProperties = vault.body['properties'] as Record<string, unknown>;
    expect(put(vault.id).body).toEqual({ ...vault.body, properties: { ...vaultProperties, tenantId: TENANT_ID } });
    expect(put(vault.id).apiVersion).toBe('2023-07-01');
    for (const card of document.network.networkInterfaces) expect(put(card.id)).toMatchObject({ apiVersion: '2024-05-01', body: card.body });
    expect(put(document.network.subnet.id).body).toEqual({
      properties: {
        addressPrefix: '10.20.0.0/24',
        networkSecurityGroup: { id: group.id },
        serviceEndpoints: [{ service: 'Microsoft.KeyVault' }, { service: 'Microsoft.Storage' }],
      },
    });

    const machine = only(document.virtualMachines);
    const sent = put(machine.id);
    expect(sent.apiVersion).toBe('2024-07-01');
    const sentBody = sent.body as {
      properties: { osProfile: { linuxConfiguration: { ssh: { publicKeys: Array<{ path: string; keyData: string }> } } } };
    };
    const { ssh, ...linux } = sentBody.properties.osProfile.linuxConfiguration;
    const key = only(ssh.publicKeys);
    expect(key.path).toBe('/home/cloudseed/.ssh/authorized_keys');
    expect(key.keyData).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} cloudseed-no-login$/);
    const rendered = machine.body as { properties: { osProfile: { linuxConfiguration: unknown } } };
    expect({
      ...sentBody,
      properties: { ...sentBody.properties, osProfile: { ...sentBody.properties.osProfile, linuxConfiguration: linux } },
    }).toEqual(machine.body);
    expect(linux).toEqual(rendered.properties.osProfile.linuxConfiguration);
  });

  it('gives every VM its own throwaway SSH key', async () => {
    const arm = seededArm();
    const target = azureTarget(nextPlanId(), { replicas: 1 });
    await deploy(azureProvider(arm), target);

    const keys = documentOf(target).virtualMachines.map(
      (machine) => JSON.stringify(only(sentTo(arm, 'PUT', machine.id)).body).match(/ssh-ed25519 [^"]+/)?.[0],
    );
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
  });

  it('creates the backup account and container once, admits the subnet, and never sends the password but in its secret', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const document = documentOf(target);
    await deploy(provider, target);
    const password = await provider.readPassword(target);

    const { storageAccount, containerId } = document.backup;
    expect(only(sentTo(arm, 'PUT', storageAccount.id)).body).toEqual(storageAccount.body);
    expect(only(sentTo(arm, 'PUT', containerId)).body).toEqual({ properties: { publicAccess: 'None' } });
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    const carrying = arm.requests.filter((request) => JSON.stringify(request.body ?? '').includes(password));
    expect(carrying.map((request) => `${request.method} ${request.path}`)).toEqual([`PUT ${document.keyVault.secret.id}`]);
    expect(only(carrying).body).toEqual({ properties: { value: password } });
    expect(arm.requests.filter((request) => request.url.includes(password))).toEqual([]);
  });

  it('writes each secret the nodes read once, and keeps them when ensurePassword runs again', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const { keyVault } = documentOf(target);
    await provider.ensurePassword(target);
    const password = await provider.readPassword(target);
    const certificate = await provider.readCaCertificate(target);
    await provider.ensurePassword(target);

    expect(keyVault.secretNames).toHaveLength(6);
    for (const name of keyVault.secretNames) expect(sentTo(arm, 'PUT', `${keyVault.id}/secrets/${name}`)).toHaveLength(1);
    expect(await provider.readPassword(target)).toBe(password);
    expect(certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(await provider.readCaCertificate(target)).toBe(certificate);
  });

  it('starts install with the run command azure-json names and its settings, and does not wait for it', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const document = documentOf(target);
    const nodes = await deploy(provider, target);
    const machine = only(document.virtualMachines);
    arm.runViews.set(`${machine.id}/runCommands/cloudseed-install`, { executionState: 'Running' });

    const command = await provider.sendCommand(target, nodes, 'install');

    const sent = only(sentTo(arm, 'PUT', `${machine.id}/runCommands/cloudseed-install`));
    expect(sent.apiVersion).toBe('2026-04-01');
    expect(sent.body).toEqual({
      location: 'westeurope',
      properties: {
        source: { script: document.scripts.install },
        asyncExecution: false,
        treatFailureAsDeploymentFailure: false,
        timeoutInSeconds: 3600,
      },
    });
    expect(command).toEqual({ kind: 'install', commandIds: [`${machine.id}/runCommands/cloudseed-install`], nodeIds: [machine.id] });
    expect(await provider.commandStatus(target, command)).toEqual({ state: 'pending', detail: '0 of 1 nodes finished install' });
    arm.runViews.set(`${machine.id}/runCommands/cloudseed-install`, { executionState: 'Succeeded', exitCode: 0 });
    expect(await provider.commandStatus(target, command)).toEqual({ state: 'done' });
  });

  it("tells each node of a Patroni cluster its peers and the load balancer's address", async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const document = documentOf(target);
    const nodes = await deploy(provider, target);
    const endpoint = await provider.ensureEndpoint(target, nodes);

    await provider.sendCommand(target, nodes, 'configure');

    expect(only(sentTo(arm, 'PUT', document.network.loadBalancer!.id)).body).toEqual(document.network.loadBalancer!.body);
    expect(endpoint).toEqual({ host: expect.stringMatching(/^10\.20\.0\.\d+$/) as unknown, port: 5432 });
    const hosts = nodes.map((node) => node.host).join(' ');
    const [first] = nodes;
    const sent = only(sentTo(arm, 'PUT', `${first!.nodeId}/runCommands/cloudseed-configure`)).body as {
      properties: { parameters: unknown; source: unknown };
    };
    expect(sent.properties.source).toEqual({ script: document.scripts.configure });
    expect(sent.properties.parameters).toEqual([
      { name: 'CLOUDSEED_NODE_ROLE', value: 'primary' },
      { name: 'CLOUDSEED_NODE_NAME', value: first!.name },
      { name: 'CLOUDSEED_PRIMARY_HOST', value: first!.host },
      { name: 'CLOUDSEED_REPLICA_HOSTS', value: hosts },
      { name: 'CLOUDSEED_ETCD_HOSTS', value: hosts },
      { name: 'CLOUDSEED_ETCD_MEMBER', value: '0' },
      { name: 'CLOUDSEED_ENDPOINT_HOST', value: endpoint!.host },
    ]);
  });

  it('verifies with the verify script, which reads the password from the vault on the node', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const nodes = await deploy(provider, target);

    await provider.verify(target, nodes);

    const sent = only(sentTo(arm, 'PUT', `${nodes[0]!.nodeId}/runCommands/cloudseed-verify`)).body as {
      properties: { source: { script: string }; timeoutInSeconds: number };
    };
    expect(sent.properties.timeoutInSeconds).toBe(60);
    expect(sent.properties.source.script).toContain(`VAULT='${documentOf(target).keyVault.name}'`);
    expect(sent.properties.source.script).toContain(`PASSWORD_PARAMETER='/cloudseed/${target.planId}/db/password'`);
    expect(sent.properties.source.script).toContain('read_secret()');
  });

  it('sends only requests AZURE_PROVIDER_ACTIONS allows', async () => {
    const arm = seededArm();
    arm.asyncVmDeletes = 1;
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2, vmSize: 'Standard_D2s_v5' });
    const nodes = await deploy(provider, target);
    const resized = azureTarget(target.planId, { replicas: 2, vmSize: 'Standard_B2ms', sizeGiB: 128 });
    await provider.launchNodes(resized, await provider.ensureSecurityGroup(resized));
    await provider.readPassword(target);
    await provider.readCaCertificate(target);
    await provider.nodesReady(target, nodes);
    await provider.commandStatus(target, await provider.sendCommand(target, nodes, 'install'));
    await provider.verify(target, nodes);
    await provider.ensureEndpoint(target, nodes);
    await provider.health(target, nodes);
    await provider.destroy(target);

    const allowed = new Set<string>([...AZURE_PROVIDER_ACTIONS, ...AZURE_PROVIDER_DATA_ACTIONS]);
    const sent = new Set(arm.requests.map(actionOf));
    expect([...sent].filter((action) => !allowed.has(action))).toEqual([]);
    expect(sent).toContain('Microsoft.Compute/locations/operations/read');
    expect(sent).toContain('Microsoft.Compute/virtualMachines/deallocate/action');
  });
});

describe('AzureProvider idempotency and teardown', () => {
  it('sends no write for what exists when launchNodes runs again, and returns the same nodes', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const nodes = await deploy(provider, target);
    const writes = arm.writes().length;

    const again = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));

    expect(again).toEqual(nodes);
    expect(arm.writes()).toHaveLength(writes);
    expect(nodes.map((node) => [node.name, node.role, node.port])).toEqual([
      ['db-0', 'primary', 5432],
      ['db-1', 'replica', 5432],
      ['db-2', 'replica', 5432],
    ]);
  });

  it('resizes each VM in place, replicas first (deallocate, the new size, start), grows data disks online, and refuses to shrink or to swap Arm for x86', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const planId = nextPlanId();
    const nodes = await deploy(provider, azureTarget(planId, { replicas: 1, vmSize: 'Standard_D2s_v5' }));
    const before = arm.requests.length;

    const resized = azureTarget(planId, { replicas: 1, vmSize: 'Standard_B2ms', sizeGiB: 128 });
    expect(await provider.launchNodes(resized, await provider.ensureSecurityGroup(resized))).toEqual(nodes);

    const [primary, replica] = nodes.map((node) => node.nodeId);
    const disk = (vm: string) =>
      `${vm.slice(0, vm.indexOf('/providers/'))}/providers/Microsoft.Compute/disks/${vm.slice(vm.lastIndexOf('/') + 1)}-data`;
    const steps = arm.requests
      .slice(before)
      .filter((request) => request.method === 'POST' || request.method === 'PATCH')
      .map((request) => `${request.method} ${request.path}${request.method === 'PATCH' ? ` ${JSON.stringify(request.body)}` : ''}`);
    expect(steps).toEqual([
      `PATCH ${disk(replica!)} {"properties":{"diskSizeGB":128}}`,
      `POST ${replica!}/deallocate`,
      `PATCH ${replica!} {"properties":{"hardwareProfile":{"vmSize":"Standard_B2ms"}}}`,
      `POST ${replica!}/start`,
      `PATCH ${disk(primary!)} {"properties":{"diskSizeGB":128}}`,
      `POST ${primary!}/deallocate`,
      `PATCH ${primary!} {"properties":{"hardwareProfile":{"vmSize":"Standard_B2ms"}}}`,
      `POST ${primary!}/start`,
    ]);
    expect(nodes.map((node) => arm.vmViews.get(node.nodeId)?.power)).toEqual(['running', 'running']);

    // Again: nothing to write.
    const writes = arm.writes().length;
    await provider.launchNodes(resized, await provider.ensureSecurityGroup(resized));
    expect(arm.writes()).toHaveLength(writes);

    await expect(
      provider.launchNodes(azureTarget(planId, { replicas: 1, vmSize: 'Standard_B2ms', sizeGiB: 100 }), { networkId: '' }),
    ).rejects.toThrow(/is 128 GiB but the plan asks for 100 GiB: disks only grow/);
    await expect(
      provider.launchNodes(azureTarget(planId, { replicas: 1, vmSize: 'Standard_D2ps_v5', sizeGiB: 128 }), { networkId: '' }),
    ).rejects.toThrow(/runs on Standard_B2ms, and the plan now asks for Standard_D2ps_v5: a node cannot move between Arm and x86 in place/);
  });

  it('writes the security group again when its rules differ from the plan', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const group = documentOf(target).network.networkSecurityGroup;
    await provider.ensureSecurityGroup(target);
    const stored = arm.body(group.id)!;
    stored.properties = { ...stored.properties, securityRules: [] };

    await provider.ensureSecurityGroup(target);

    expect(sentTo(arm, 'PUT', group.id)).toHaveLength(2);
  });

  it('removes everything of the component but the backup account, following an asynchronous delete to its end', async () => {
    const arm = seededArm();
    arm.asyncVmDeletes = 2;
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const document = documentOf(target);
    await deploy(provider, target);

    await provider.destroy(target);

    expect(arm.ids()).toEqual(
      [groupId(BACKUP_RESOURCE_GROUP), document.backup.storageAccount.id, document.backup.containerId, groupId('cloudseed-orders')].sort(),
    );
    const rules = (arm.body(document.backup.storageAccount.id)?.properties?.['networkAcls'] as { virtualNetworkRules: unknown[] })
      .virtualNetworkRules;
    expect(rules).toEqual([]);
    // Each VM delete: 202, then the operation polled twice in progress and once done.
    expect(arm.requests.filter((request) => request.path.includes('/operations/'))).toHaveLength(9);
    const before = arm.requests.length;
    await provider.destroy(target);
    expect(arm.requests.slice(before).filter((request) => request.method !== 'GET' && request.method !== 'DELETE')).toEqual([]);
    expect(arm.ids()).toHaveLength(4);
  });

  it('recovers the soft-deleted vault, secrets and all, when the plan is deployed again', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    await deploy(provider, target);
    const password = await provider.readPassword(target);
    await provider.destroy(target);

    await provider.ensurePassword(target);

    const vault = documentOf(target).keyVault;
    expect(sentTo(arm, 'PUT', vault.id).map((request) => (request.body as { properties: { createMode?: string } }).properties.createMode)).toEqual([
      undefined,
      undefined,
      'recover',
    ]);
    expect(await provider.readPassword(target)).toBe(password);
  });
});

describe('AzureProvider readiness and commands', () => {
  it('waits for the VM to run with its agent ready, and fails with what Azure says', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const nodes = await deploy(provider, target);
    const [node] = nodes;

    arm.vmViews.set(node!.nodeId, { provisioningState: 'Creating', power: 'starting', agent: 'Not Ready' });
    expect(await provider.nodesReady(target, nodes)).toEqual({
      state: 'pending',
      detail: '0 of 1 nodes ready (db-0 Creating, starting, agent Not Ready)',
    });
    arm.vmViews.set(node!.nodeId, {});
    expect(await provider.nodesReady(target, nodes)).toEqual({ state: 'done' });
    arm.vmViews.set(node!.nodeId, {
      provisioningState: 'Failed',
      power: '',
      statuses: [{ code: 'ProvisioningState/failed/ZonalAllocationFailed', level: 'Error', message: 'Allocation failed in zone 1.' }],
    });
    expect(await provider.nodesReady(target, nodes)).toEqual({
      state: 'failed',
      reason: 'node db-0 failed to provision: ProvisioningState/failed/ZonalAllocationFailed: Allocation failed in zone 1.',
    });
    expect(await provider.health(target, nodes)).toEqual([
      { name: 'db-0', role: 'primary', healthy: false, detail: 'the VM is in no known power state' },
    ]);
  });

  it('fails a command with its exit code and the end of its standard error, at most 500 characters', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const nodes = await deploy(provider, target);
    const command = await provider.sendCommand(target, nodes, 'configure');
    const noise = Array.from({ length: 40 }, (_, line) => `apt: line ${line} of noise`).join('\n');
    arm.runViews.set(command.commandIds[0]!, { executionState: 'Succeeded', exitCode: 3, error: `${noise}\npg_ctl: could not start server` });

    const progress = await provider.commandStatus(target, command);

    expect(progress.state).toBe('failed');
    const reason = progress.state === 'failed' ? progress.reason : '';
    expect(reason.startsWith(`configure failed on cs-${target.planId}-db-0 (exit 3): `)).toBe(true);
    expect(reason.endsWith('\npg_ctl: could not start server')).toBe(true);
    expect(reason.length).toBeLessThanOrEqual(500);
    arm.runViews.set(command.commandIds[0]!, { executionState: 'TimedOut', error: 'still waiting for apt' });
    expect(await provider.commandStatus(target, command)).toEqual({
      state: 'failed',
      reason: `configure timed out on cs-${target.planId}-db-0: still waiting for apt`,
    });
  });

  it('fails the verification permanently when the script fails', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId());
    const nodes = await deploy(provider, target);
    arm.runViews.set(`${nodes[0]!.nodeId}/runCommands/cloudseed-verify`, {
      executionState: 'Failed',
      exitCode: 1,
      error: "the application role's connection is not TLS",
    });

    await expect(provider.verify(target, nodes)).rejects.toThrow(
      new PermanentError(`verification failed on cs-${target.planId}-db-0 (exit 1): the application role's connection is not TLS`),
    );
  });
});

describe('AzureProvider errors', () => {
  it('retries a 429 inside the SDK and succeeds', async () => {
    const arm = seededArm();
    const target = azureTarget(nextPlanId());
    const group = documentOf(target).network.networkSecurityGroup;
    arm.failures.push({
      method: 'PUT',
      path: /networkSecurityGroups/,
      status: 429,
      code: 'TooManyRequests',
      headers: { 'Retry-After': '0' },
      times: 1,
    });

    await azureProvider(arm).ensureSecurityGroup(target);

    expect(sentTo(arm, 'PUT', group.id)).toHaveLength(2);
    expect(arm.has(group.id)).toBe(true);
  });

  it('maps what Azure refuses to the port’s kinds, with Azure’s code', async () => {
    const cases = [
      { status: 409, code: 'SkuNotAvailable', kind: CapacityError },
      { status: 409, code: 'ZonalAllocationFailed', kind: CapacityError },
      { status: 403, code: 'AuthorizationFailed', kind: AccountAccessError },
      { status: 401, code: 'InvalidAuthenticationToken', kind: AccountAccessError },
      { status: 400, code: 'InvalidParameter', kind: PermanentError },
      { status: 503, code: 'ServiceUnavailable', kind: TransientError },
    ] as const;
    for (const { status, code, kind } of cases) {
      const arm = seededArm();
      const provider = azureProvider(arm);
      const target = azureTarget(nextPlanId());
      await provider.ensurePassword(target);
      arm.failures.push({
        method: 'PUT',
        path: /virtualMachines\/[^/]+$/,
        status,
        code,
        message: `${code} says no`,
        headers: { 'Retry-After': '0' },
      });

      const error = await provider.launchNodes(target, { networkId: 'nsg' }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(kind);
      expect(error).toMatchObject({
        code,
        message: `Microsoft.Compute/virtualMachines/write cs-${target.planId}-db-0 failed: ${code}: ${code} says no`,
      });
      // A 503 is retried by the SDK first (twice in these tests), a 4xx is not.
      expect(arm.requests.filter((request) => request.method === 'PUT' && /virtualMachines\/[^/]+$/.test(request.path))).toHaveLength(
        status === 503 ? 3 : 1,
      );
    }
  });

  it('maps a network failure that outlasts the retries to a TransientError', async () => {
    const arm = seededArm();
    const target = azureTarget(nextPlanId());
    const broken = { sendRequest: () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })) };

    const error = await azureProvider(arm, { httpClient: broken })
      .ensureSecurityGroup(target)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
  });

  it('refuses a resource group that does not exist before creating anything', async () => {
    const arm = seededArm();
    const target = azureTarget(nextPlanId());
    const provider = azureProvider(arm);
    arm.failures.push({ method: 'GET', path: /resourceGroups\/cloudseed-orders$/, status: 404, code: 'ResourceGroupNotFound' });

    await expect(provider.preflight(target)).rejects.toThrow(PermanentError);
    await expect(provider.preflight(target)).rejects.toThrow(/resource group cloudseed-orders does not exist in subscription/);
    expect(arm.writes()).toEqual([]);
  });

  it('refuses every target when it is given no credentials', async () => {
    const provider = new AzureProvider({ httpClient: seededArm() });

    await expect(provider.preflight(azureTarget(nextPlanId()))).rejects.toThrow(AccountAccessError);
    await expect(provider.readPassword(azureTarget(nextPlanId()))).rejects.toThrow(/names no connected Azure resource group/);
  });

  it("reports a Patroni cluster's roles as Patroni gives them now, and a VM that does not run as down", async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const nodes = await deploy(provider, target);
    const [db0, db1] = nodes.map((node) => node.nodeId);
    // After a failover db-2 leads; db-0 lags far behind; db-1's VM is deallocated.
    arm.vmViews.set(db1!, { power: 'deallocated' });
    const view = {
      members: [
        { name: 'db-0', role: 'replica', state: 'streaming', timeline: 3, lag: 64 * 1024 * 1024 },
        { name: 'db-2', role: 'leader', state: 'running', timeline: 3 },
      ],
    };
    arm.runViews.set(`${db0!}/runCommands/cloudseed-patroni-state`, { executionState: 'Succeeded', exitCode: 0, output: JSON.stringify(view) });

    const health = await provider.health(target, nodes);
    expect(health.map(({ name, role, healthy }) => ({ name, role, healthy }))).toEqual([
      { name: 'db-0', role: 'replica', healthy: false },
      { name: 'db-1', role: 'replica', healthy: false },
      { name: 'db-2', role: 'primary', healthy: true },
    ]);
    expect(health[0]!.detail).toMatch(/MiB behind the leader/);
    expect(health[1]!.detail).toBe('the VM is deallocated');
    // Patroni was asked on a VM that runs, never on the deallocated one.
    expect(
      arm
        .writes()
        .filter((request) => request.path.endsWith('/runCommands/cloudseed-patroni-state'))
        .map((request) => request.path),
    ).toEqual([`${db0!}/runCommands/cloudseed-patroni-state`]);
  });

  it("switches over: asks a node for Patroni's view, then the leader's Patroni to hand over to the replica furthest ahead, by Run Command", async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 2 });
    const nodes = await deploy(provider, target);
    const [db0, db1] = nodes.map((node) => node.nodeId);
    const cluster = {
      members: [
        { name: 'db-0', role: 'replica', state: 'streaming', timeline: 2, lag: 4096 },
        { name: 'db-1', role: 'leader', state: 'running', timeline: 2 },
        { name: 'db-2', role: 'replica', state: 'streaming', timeline: 2, lag: 0 },
      ],
    };
    // db-0's agent is not answering: the view comes from the next node.
    arm.runViews.set(`${db0!}/runCommands/cloudseed-patroni-state`, { executionState: 'Failed', error: 'VM agent not ready' });
    arm.runViews.set(`${db1!}/runCommands/cloudseed-patroni-state`, { executionState: 'Succeeded', exitCode: 0, output: JSON.stringify(cluster) });

    expect(await provider.switchover(target)).toEqual({ from: 'db-1', to: 'db-2' });
    const sent = arm.writes().filter((request) => request.path.includes('/runCommands/cloudseed-switchover'));
    expect(sent.map((request) => request.path)).toEqual([`${db1!}/runCommands/cloudseed-switchover`]);
    const script = (sent[0]!.body as { properties: { source: { script: string } } }).properties.source.script;
    expect(script).toContain("LEADER='db-1'");
    expect(script).toContain("CANDIDATE='db-2'");
    expect(script).toContain(`VAULT='${documentOf(target).keyVault.name}'`);
    expect(script).toContain('/switchover');

    await expect(provider.switchover(target, 'db-1')).rejects.toThrow(/db-1 leads db already/);
    await expect(provider.switchover(azureTarget(nextPlanId()))).rejects.toThrow(/is a single server/);
    arm.runViews.set(`${db1!}/runCommands/cloudseed-switchover`, {
      executionState: 'Succeeded',
      exitCode: 1,
      error: 'Patroni did not switch over (HTTP 412): candidate name does not match with sync_standby',
    });
    await expect(provider.switchover(target, 'db-0')).rejects.toThrow(
      /cloudseed-switchover failed on .* \(exit 1\): Patroni did not switch over \(HTTP 412\)/,
    );
  });
});

describe('AzureProvider on the wire', () => {
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("sends a VM's body as JSON with its disk size a number, with the SDK's own HTTP client", async () => {
    nock.disableNetConnect();
    const target = azureTarget(nextPlanId());
    const document = documentOf(target);
    const machine = only(document.virtualMachines);
    // What every PUT is answered, the vault and the backup account (admitting the subnet) as ensurePassword left them: enough for a launch.
    const created = {
      properties: { provisioningState: 'Succeeded', principalId: 'principal', ipConfigurations: [{ properties: { privateIPAddress: '10.20.0.4' } }] },
    };
    const account = {
      properties: { provisioningState: 'Succeeded', networkAcls: { virtualNetworkRules: [{ id: document.network.subnet.id, action: 'Allow' }] } },
    };
    let sent: { properties: { storageProfile: { dataDisks: Array<{ diskSizeGB: unknown }> } }; zones: unknown } | undefined;
    let query: string | undefined;
    nock('https://management.azure.com')
      .persist()
      .get((path) => path.startsWith(`${document.backup.storageAccount.id}?`))
      .reply(200, account)
      .get((path) => path.startsWith(`${document.keyVault.id}?`))
      .reply(200, { properties: { provisioningState: 'Succeeded' } })
      .get(() => true)
      .reply(404, { error: { code: 'ResourceNotFound', message: 'not found' } })
      .put(
        (path) => path.startsWith(`${machine.id}?`) && ((query = path.slice(path.indexOf('?'))), true),
        (body: typeof sent) => ((sent = body), true),
      )
      .reply(201, created)
      .put(() => true)
      .reply(201, created);
    const provider = new AzureProvider({ credentialFor: () => credential, retry: { maxRetries: 0 }, waits: { pollIntervalMs: 0, limitMs: 1_000 } });

    await provider.launchNodes(target, { networkId: 'nsg' });

    expect(query).toBe('?api-version=2024-07-01');
    expect(sent?.properties.storageProfile.dataDisks[0]?.diskSizeGB).toBe(64);
    expect(sent?.zones).toEqual(['1']);
  });
});
