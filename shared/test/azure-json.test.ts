import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { goldenJson } from './support/golden.ts';
import { validatePlan } from '../src/cs-json/validate.ts';
import type { Plan } from '../src/cs-json/schema.ts';
import { AZURE_JSON_VERSION, AZURE_ROLES, azureVmSizes, renderAzureJson } from '../src/targets/azure/index.ts';
import type { AzureComponent, AzureJson, AzureResource, AzureSecurityRule } from '../src/targets/azure/index.ts';

// azure-json: golden documents for a few plans (read them: they are what ARM is sent), and the
// security invariants over many generated plans.

const AZURE = { cloud: 'azure', subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'cloudseed-prod', region: 'westeurope' };
const UBUNTU = { name: 'ubuntu', version: '24.04' };

function plan(components: readonly Record<string, unknown>[], target: Record<string, unknown> = AZURE): Plan {
  const result = validatePlan({ apiVersion: 'cs/v1', name: 'orders', target, components });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

const postgres = (fields: Record<string, unknown> = {}) => ({ id: 'db', type: 'postgres', os: UBUNTU, ...fields });

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** Every [key, value] pair anywhere in the document. */
function entries(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap(entries);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => [[key, inner] as [string, unknown], ...entries(inner)]);
}

// The parts of the ARM bodies the tests read.
interface VnetBody {
  readonly properties: { readonly subnets: readonly { name: string; properties: { addressPrefix: string; networkSecurityGroup: { id: string } } }[] };
}
interface NicBody {
  readonly properties: { readonly ipConfigurations: readonly { properties: Record<string, unknown> & { subnet: { id: string } } }[] };
}
interface DiskBody {
  readonly managedDisk: { readonly storageAccountType: string };
}
interface VmBody {
  readonly identity: unknown;
  readonly zones: readonly string[];
  readonly properties: {
    readonly securityProfile: unknown;
    readonly storageProfile: { readonly osDisk: DiskBody; readonly dataDisks: readonly DiskBody[] };
    readonly osProfile: { readonly linuxConfiguration: { readonly disablePasswordAuthentication: boolean } };
  };
}
interface RoleAssignmentBody {
  readonly properties: { readonly roleDefinitionId: string; readonly principalType: string };
}
interface NetworkLockedBody {
  readonly properties: Record<string, unknown> & { readonly networkAcls: { readonly virtualNetworkRules: readonly unknown[] } };
}

const bodyOf = <Body>(resource: AzureResource): Body => resource.body as unknown as Body;

/** The document as the golden file holds it: pretty JSON, formatted as the repository formats JSON. */
function golden(document: AzureJson): Promise<string> {
  return goldenJson(document, new URL('./golden/azure.json', import.meta.url));
}

function portsCover(rule: AzureSecurityRule, port: number): boolean {
  const ranges = rule.properties.destinationPortRanges ?? [rule.properties.destinationPortRange ?? ''];
  return ranges.some((text) => {
    if (text === '*') return true;
    const [from = '', to = from] = text.split('-');
    return Number(from) <= port && port <= Number(to);
  });
}

const sources = (rule: AzureSecurityRule): readonly string[] => rule.properties.sourceAddressPrefixes ?? [rule.properties.sourceAddressPrefix ?? ''];

describe('renderAzureJson golden documents', () => {
  it('renders a single small node', async () => {
    const document = renderAzureJson(plan([postgres({ network: { allowedCidrs: ['203.0.113.0/24'] } })]), { planId: 'p-1' });
    await expect(await golden(document)).toMatchFileSnapshot('./golden/azure-single.json');
  });

  it('renders a single node of a named size with IPv4 and IPv6 clients', async () => {
    const document = renderAzureJson(
      plan([
        postgres({
          hardware: { azure: { vmSize: 'Standard_E4s_v5' }, storage: { sizeGiB: 256 } },
          network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48', '198.51.100.7/32'] },
        }),
      ]),
      { planId: 'p-2' },
    );
    await expect(await golden(document)).toMatchFileSnapshot('./golden/azure-hinted.json');
  });

  it('renders a three-node Patroni cluster with its internal load balancer', async () => {
    const document = renderAzureJson(
      plan([
        postgres({
          hardware: { azure: { vmSize: 'Standard_D4s_v5' }, storage: { sizeGiB: 500 } },
          db: { topology: { mode: 'cluster', replicas: 2 } },
          network: { allowedCidrs: ['10.1.0.0/16'] },
        }),
      ]),
      { planId: 'p-3' },
    );
    await expect(await golden(document)).toMatchFileSnapshot('./golden/azure-patroni.json');
  });

  it('renders a primary and one replica used by an app', async () => {
    const document = renderAzureJson(
      plan([
        postgres({ db: { topology: { mode: 'cluster', replicas: 1 } }, network: { allowedCidrs: ['203.0.113.0/24'] } }),
        { id: 'web', type: 'app', source: { repoUrl: 'https://github.com/acme/notes.git' }, database: { component: 'db' } },
      ]),
      { planId: 'p-4' },
    );
    await expect(await golden(document)).toMatchFileSnapshot('./golden/azure-pair.json');
  });
});

describe('renderAzureJson', () => {
  it('is deterministic: the same plan renders to byte-identical JSON whatever its key order', () => {
    const first = JSON.stringify(renderAzureJson(plan([postgres({ network: { allowedCidrs: ['203.0.113.0/24'] } })]), { planId: 'p-1' }));
    const reordered = validatePlan({
      components: [{ network: { allowedCidrs: ['203.0.113.0/24'] }, os: UBUNTU, type: 'postgres', id: 'db' }],
      target: { region: 'westeurope', resourceGroup: 'cloudseed-prod', subscriptionId: AZURE.subscriptionId, cloud: 'azure' },
      name: 'orders',
      apiVersion: 'cs/v1',
    });
    if (!reordered.ok) throw new Error('fixture is invalid');
    expect(JSON.stringify(renderAzureJson(reordered.plan, { planId: 'p-1' }))).toBe(first);
  });

  it('refuses a plan for another cloud', () => {
    const aws = plan([postgres()], { cloud: 'aws', region: 'eu-central-1' });
    expect(() => renderAzureJson(aws, { planId: 'p-1' })).toThrow(RangeError);
  });

  it('gives each postgres component its own subnet and security group in the plan VNet', () => {
    const document = renderAzureJson(plan([postgres(), postgres({ id: 'analytics' })]), { planId: 'p-5' });
    const subnets = bodyOf<VnetBody>(document.virtualNetwork).properties.subnets;
    expect(subnets.map((subnet) => [subnet.name, subnet.properties.addressPrefix, subnet.properties.networkSecurityGroup.id])).toEqual([
      ['db', '10.20.0.0/24', document.components[0]!.network.networkSecurityGroup.id],
      ['analytics', '10.20.1.0/24', document.components[1]!.network.networkSecurityGroup.id],
    ]);
    expect(document.components.map((component) => component.network.subnet.addressPrefix)).toEqual(['10.20.0.0/24', '10.20.1.0/24']);
    expect(document.components[0]!.keyVault.name).not.toBe(document.components[1]!.keyVault.name);
    expect(document.components[0]!.backup.storageAccount.name).toBe(document.components[1]!.backup.storageAccount.name);
  });

  it('boots a size without Trusted Launch (named by the plan) as a standard VM and says why', () => {
    const document = renderAzureJson(plan([postgres({ hardware: { azure: { vmSize: 'Standard_D4ps_v5' } } })]), { planId: 'p-6' });
    const component = only(document.components);
    expect(component.architecture).toBe('arm64');
    expect(component.os.imageReference.sku).toBe('server-arm64');
    expect(component.security.trustedLaunch).toBe(false);
    expect(component.security.reason).toContain('does not offer Trusted Launch');
    const vm = bodyOf<VmBody>(only(component.virtualMachines));
    expect(vm.properties.securityProfile).toEqual({ encryptionAtHost: true });
    expect(component.disk.sku).toBe('PremiumV2_LRS');
  });

  it('names the key vault and the backup account within Azure rules, from hashes of what identifies them', () => {
    const document = renderAzureJson(plan([postgres()]), { planId: 'p-1' });
    const component = only(document.components);
    expect(component.keyVault.name).toMatch(/^cs[0-9a-f]{22}$/);
    expect(component.backup.storageAccount.name).toMatch(/^csbk[0-9a-f]{20}$/);
    const other = renderAzureJson(plan([postgres()], { ...AZURE, region: 'eastus' }), { planId: 'p-1' });
    expect(only(other.components).backup.storageAccount.name).not.toBe(component.backup.storageAccount.name);
    expect(only(other.components).keyVault.name).toBe(component.keyVault.name);
  });
});

// Generated plans: a few sizes, shapes, networks and regions, each through validatePlan.
const ipv4Cidr = fc.oneof(
  fc.ipV4().map((ip) => `${ip}/32`),
  fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `${a}.${b}.${c}.0/24`),
);
const ipv6Cidr = fc.integer({ min: 0, max: 0xffff }).map((group) => `2001:db8:${group.toString(16)}::/48`);
const topology = fc.oneof(
  fc.constant({ mode: 'single' }),
  fc.integer({ min: 1, max: 5 }).map((replicas) => ({ mode: 'cluster', replicas })),
);
const trustedSizes = azureVmSizes.filter((size) => size.trustedLaunch).map((size) => size.name);
const hardware = fc.oneof(
  fc.record({
    cpus: fc.constantFrom(1, 2, 4, 8, 16),
    memoryGiB: fc.constantFrom(2, 4, 8, 16, 32, 64),
    storage: fc.record({ sizeGiB: fc.integer({ min: 8, max: 16_384 }) }),
  }),
  fc.record({
    azure: fc.record({ vmSize: fc.constantFrom(...trustedSizes) }),
    storage: fc.record({ sizeGiB: fc.integer({ min: 8, max: 16_384 }) }),
  }),
);
const database = fc.record({
  os: fc.constantFrom(UBUNTU, { name: 'debian', version: '12' }),
  cidrs: fc.uniqueArray(fc.oneof(ipv4Cidr, ipv6Cidr), { maxLength: 6 }),
  topology,
  hardware,
});
const plans = fc.record({
  planId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,25}$/),
  databases: fc.array(database, { minLength: 1, maxLength: 3 }),
  withApp: fc.boolean(),
  region: fc.constantFrom('westeurope', 'eastus', 'japaneast'),
});

function checkComponent(document: AzureJson, component: AzureComponent, cidrs: readonly string[], subnetPrefix: string): void {
  // No public address anywhere: NICs have private configurations only.
  for (const nic of component.network.networkInterfaces) {
    for (const configuration of bodyOf<NicBody>(nic).properties.ipConfigurations) {
      expect(configuration.properties).not.toHaveProperty('publicIPAddress');
      expect(configuration.properties.subnet.id).toBe(component.network.subnet.id);
    }
  }

  // Security rules: unique priorities in 100..4096, a Deny 22 above every Allow, no Allow on 22,
  // PostgreSQL from outside the VNet from exactly the plan's CIDRs, one rule per address family.
  const rules = component.network.networkSecurityGroup.body.properties.securityRules;
  const priorities = rules.map((rule) => rule.properties.priority);
  expect(new Set(priorities).size).toBe(priorities.length);
  for (const priority of priorities) expect(priority >= 100 && priority <= 4096).toBe(true);
  const allows = rules.filter((rule) => rule.properties.access === 'Allow');
  const denySsh = rules.find((rule) => rule.properties.access === 'Deny' && portsCover(rule, 22) && sources(rule).includes('*'));
  expect(denySsh).toBeDefined();
  for (const rule of allows) {
    expect(portsCover(rule, 22), rule.name).toBe(false);
    expect(rule.properties.priority).toBeGreaterThan(denySsh!.properties.priority);
    expect(sources(rule)).not.toContain('*');
    expect(sources(rule)).not.toContain('Internet');
    expect(sources(rule)).not.toContain('0.0.0.0/0');
    expect(sources(rule)).not.toContain('::/0');
  }
  const insideVnet = new Set([subnetPrefix, '10.20.0.0/16', 'AzureLoadBalancer']);
  const fromOutside = allows.filter((rule) => portsCover(rule, 5432) && !sources(rule).every((source) => insideVnet.has(source)));
  const v4 = cidrs.filter((cidr) => !cidr.includes(':'));
  const v6 = cidrs.filter((cidr) => cidr.includes(':'));
  expect(fromOutside.map(sources)).toEqual([v4, v6].filter((family) => family.length > 0));
  const denyVnet = rules.find((rule) => rule.properties.access === 'Deny' && sources(rule).includes('VirtualNetwork'));
  expect(denyVnet?.properties.priority).toBe(4000);
  for (const rule of allows) expect(rule.properties.priority).toBeLessThan(4000);

  // Every VM: Trusted Launch with Secure Boot and a vTPM, encryption at host, Premium disks,
  // the component's identity only, zonal, no password.
  for (const vm of component.virtualMachines) {
    const body = bodyOf<VmBody>(vm);
    expect(body.properties.securityProfile).toEqual({
      securityType: 'TrustedLaunch',
      uefiSettings: { secureBootEnabled: true, vTpmEnabled: true },
      encryptionAtHost: true,
    });
    expect(body.properties.storageProfile.osDisk.managedDisk.storageAccountType).toBe('Premium_LRS');
    for (const disk of body.properties.storageProfile.dataDisks) {
      expect(['Premium_LRS', 'PremiumV2_LRS']).toContain(disk.managedDisk.storageAccountType);
      expect(disk.managedDisk.storageAccountType).toBe(component.disk.sku);
    }
    expect(body.identity).toEqual({ type: 'UserAssigned', userAssignedIdentities: { [component.identity.id]: {} } });
    expect(body.properties.osProfile.linuxConfiguration.disablePasswordAuthentication).toBe(true);
    expect(['1', '2', '3']).toContain(only(body.zones));
  }
  expect(component.nodes.map((node) => node.zone)).toEqual(component.nodes.map((_, index) => String((index % 3) + 1)));

  // The identity: exactly the two role assignments, each at its narrowest scope.
  expect(
    component.identity.roleAssignments.map((assignment) => [
      assignment.id.slice(0, assignment.id.indexOf('/providers/Microsoft.Authorization/')),
      bodyOf<RoleAssignmentBody>(assignment).properties.roleDefinitionId,
      bodyOf<RoleAssignmentBody>(assignment).properties.principalType,
    ]),
  ).toEqual([
    [
      component.keyVault.id,
      `/subscriptions/${document.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${AZURE_ROLES.keyVaultSecretsUser.id}`,
      'ServicePrincipal',
    ],
    [
      component.backup.containerId,
      `/subscriptions/${document.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${AZURE_ROLES.storageBlobDataContributor.id}`,
      'ServicePrincipal',
    ],
  ]);

  // The vault read by role only (RBAC, no access policies), the backup account signed into with Entra ID only (no shared keys, no
  // public blobs); both open to the network as Parameter Store, Secret Manager, S3 and Cloud Storage are, since CloudSeed reads them.
  const vault = bodyOf<NetworkLockedBody>(component.keyVault).properties;
  expect(vault).toMatchObject({ enableRbacAuthorization: true, enablePurgeProtection: true, networkAcls: { defaultAction: 'Allow' } });
  expect(vault.networkAcls.virtualNetworkRules).toEqual([{ id: component.network.subnet.id, ignoreMissingVnetServiceEndpoint: false }]);
  expect(component.keyVault.name).toMatch(/^[a-zA-Z][a-zA-Z0-9-]{2,23}$/);
  const account = bodyOf<NetworkLockedBody>(component.backup.storageAccount).properties;
  expect(account).toMatchObject({
    allowBlobPublicAccess: false,
    allowSharedKeyAccess: false,
    minimumTlsVersion: 'TLS1_2',
    // Open as S3 and Cloud Storage are: CloudSeed reads the manifests from outside the VNet.
    networkAcls: { defaultAction: 'Allow' },
  });
  expect(account.networkAcls.virtualNetworkRules).toEqual([{ id: component.network.subnet.id, action: 'Allow' }]);
  expect(component.backup.storageAccount.name).toMatch(/^[a-z0-9]{3,24}$/);
}

describe('renderAzureJson invariants over many plans', () => {
  it('never exposes a node, never opens SSH, admits PostgreSQL only from the plan networks and never carries a password', () => {
    fc.assert(
      fc.property(plans, ({ planId, databases, withApp, region }) => {
        const components = databases.map(({ os, cidrs, topology: shape, hardware: size }, index) => ({
          id: `db${index}`,
          type: 'postgres',
          os,
          hardware: size,
          db: { topology: shape },
          network: { allowedCidrs: cidrs },
        }));
        const apps = withApp
          ? [{ id: 'web', type: 'app', source: { repoUrl: 'https://github.com/acme/notes.git' }, database: { component: 'db0' } }]
          : [];
        const document = renderAzureJson(plan([...components, ...apps], { ...AZURE, region }), { planId });
        expect(JSON.stringify(renderAzureJson(plan([...components, ...apps], { ...AZURE, region }), { planId }))).toBe(JSON.stringify(document));
        expect(document.apiVersion).toBe(AZURE_JSON_VERSION);

        document.components.forEach((component, index) => {
          checkComponent(document, component, databases[index]!.cidrs, `10.20.${index}.0/24`);
        });
        const costs = document.components.reduce((sum, component) => sum + component.cost.totalUsd, 0);
        expect(document.monthlyCostUsd).toBeCloseTo(costs, 2);

        // No resource is rendered twice, but the backup account every component shares (each copy
        // names its own component's subnet, which the provider merges in); every ARM id lives in the
        // plan's subscription.
        const resources = entries(document)
          .map(([, value]) => value)
          .filter((value): value is AzureResource => typeof value === 'object' && value !== null && 'apiVersion' in value && 'body' in value);
        const accounts = new Set(document.components.map((component) => component.backup.storageAccount.id));
        expect(accounts.size).toBe(1);
        const resourceIds = resources.filter((resource) => !resource.id.includes('/Microsoft.Storage/')).map((resource) => resource.id);
        expect(new Set(resourceIds).size).toBe(resourceIds.length);
        const armIds = entries(document).flatMap(([key, value]) =>
          key === 'id' && typeof value === 'string' && value.startsWith('/') ? [value] : [],
        );
        expect(armIds.length).toBeGreaterThan(0);
        for (const id of armIds) expect(id.startsWith(`/subscriptions/${document.subscriptionId}/`)).toBe(true);

        // The renderer is never given a password, so no field can hold one.
        for (const [key] of entries(document)) {
          expect(key).not.toMatch(/^(password|adminPassword|secretValue|value)$/i);
          expect(key).not.toMatch(/^publicIPAddress$/);
        }
      }),
      { numRuns: 150 },
    );
  });
});
