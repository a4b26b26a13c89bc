import { createHash } from 'node:crypto';
import { postgresComponents } from '../../cs-json/components.ts';
import type { Plan, PostgresComponent } from '../../cs-json/schema.ts';
import type { NodeRole } from '../../postgres/config.ts';
import { planNodes, POSTGRES_PORT } from '../../postgres/nodes.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, PATRONI_REST_PORT, usesPatroni } from '../aws/patroni.ts';
import { backupSchedule, postgresSection } from '../document.ts';
import type { BackupSchedule, PostgresSection } from '../document.ts';
import { cents } from '../machines.ts';
import type { CostEstimate, MachineChoice } from '../machines.ts';
import { TRANSFORMER_VERSION } from '../version.ts';
import type { RenderContext } from '../version.ts';
import { azureComponentCost, azureDiskFor, azureVmSizeFor, OS_DISK_GIB } from './cost.ts';
import type { AzureDiskSku } from './cost.ts';
import { azureImageReference } from './images.ts';
import type { AzureImageReference } from './images.ts';
import type { AzureVmSize } from './vm-sizes.ts';
import {
  ARCHIVE_BUCKET_TOKEN,
  ARCHIVE_CIPHER_TOKEN,
  METRICS_FOLDER,
  nodeSecretPaths,
  renderConfigureScript,
  renderInstallScript,
} from '../aws/scripts.ts';
import { secretIdFor } from '../node-scripts.ts';
import { findOs } from '../../postgres/os.ts';
import { BACKUP_RESOURCE_GROUP } from './connection.ts';

// cs-json -> azure-json: every ARM resource a plan needs, computed up front. The output is a pure
// function of (plan, planId): no clock, no randomness, no lookups, so the same input always renders
// to byte-identical JSON and a diff of two renders is a diff of two plans. Names ARM wants unique
// (the key vault's, the storage account's, role assignments') are hashes of what identifies them.
//
// Every body is the ARM REST shape (`properties` nested), what `PUT <id>?api-version=<apiVersion>`
// takes and what the generic `resources.beginCreateOrUpdateById(id, apiVersion, body)` sends as is;
// the SDK operation each one stands for is named beside it. Bodies refer to each other by id, so
// they are created in dependency order: security groups, the VNet, the load balancer and NICs,
// the identity, vault and backup account, the role assignments, then the VMs.

export const AZURE_JSON_VERSION = 'cs-azure/v1';

/**
 * Fields only the deploy step knows, left out of the bodies (paths are within a component): the
 * tenant of the connected subscription, the principal id Azure gives the managed identity when it
 * is created, and each VM's SSH public key (see `osProfile` below).
 */
export const AZURE_DEPLOY_TIME_FIELDS = [
  'keyVault.body.properties.tenantId',
  'identity.roleAssignments[].body.properties.principalId',
  'virtualMachines[].body.properties.osProfile.linuxConfiguration.ssh.publicKeys',
] as const;

const API_VERSIONS = {
  compute: '2024-07-01',
  network: '2024-05-01',
  identity: '2023-01-31',
  authorization: '2022-04-01',
  keyVault: '2023-07-01',
  storage: '2023-05-01',
} as const;

/** Built-in role definitions (the same GUID in every tenant). */
export const AZURE_ROLES = {
  keyVaultSecretsUser: { name: 'Key Vault Secrets User', id: '4633458b-17de-408a-b874-0445c86b69e6' },
  storageBlobDataContributor: { name: 'Storage Blob Data Contributor', id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' },
} as const;

/** The plan's network: one VNet, one /24 per postgres component (the nth component gets 10.20.n.0/24). */
export const VNET_ADDRESS_SPACE = '10.20.0.0/16';
const subnetPrefix = (index: number): string => `10.20.${index}.0/24`;

export const ADMIN_USERNAME = 'cloudseed';
export const BACKUP_CONTAINER = 'cloudseed-backups';
// Backups outlive the plan's resource group (deleting a plan must not delete its backups), so the
// storage account lives in a resource group of its own, one per subscription (connection.ts names it:
// the customer's setup creates it).
export { BACKUP_RESOURCE_GROUP };
export const RUN_COMMANDS = ['cloudseed-install', 'cloudseed-configure'] as const;

const INSTANCE_LOOPBACK = ['127.0.0.1/32'];

export type AzureTags = Readonly<Record<string, string>>;

/** One ARM resource: its name, its id, the api-version its body is written for, and the body. */
export interface AzureResource<Body = Record<string, unknown>> {
  readonly name: string;
  readonly id: string;
  readonly apiVersion: string;
  /** The Azure SDK operation that creates it. */
  readonly operation: string;
  readonly body: Body;
}

export interface AzureSecurityRule {
  readonly name: string;
  readonly properties: {
    readonly description: string;
    readonly priority: number;
    readonly direction: 'Inbound';
    readonly access: 'Allow' | 'Deny';
    readonly protocol: 'Tcp' | '*';
    readonly sourcePortRange: '*';
    readonly sourceAddressPrefix?: string;
    readonly sourceAddressPrefixes?: readonly string[];
    readonly destinationAddressPrefix: string;
    readonly destinationPortRange?: string;
    readonly destinationPortRanges?: readonly string[];
  };
}

export interface AzureNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly zone: string;
}

export interface AzureComponent {
  readonly id: string;
  readonly vmSize: MachineChoice;
  readonly architecture: AzureVmSize['architecture'];
  readonly disk: { readonly sku: AzureDiskSku; readonly reason: string };
  /** Trusted Launch, or why a size named by the plan runs without it. */
  readonly security: { readonly trustedLaunch: boolean; readonly reason: string };
  readonly os: { readonly name: string; readonly version: string; readonly imageReference: AzureImageReference };
  readonly nodes: readonly AzureNode[];
  readonly identity: AzureResource & { readonly roleAssignments: readonly AzureResource[] };
  readonly keyVault: AzureResource & {
    /** The application role's password. */
    readonly secretName: string;
    /**
     * Every secret the node scripts read, by its name in the vault (the path AWS keeps it under,
     * with '-' for '/'): the password, the plan's certificate authority (a copy in each component's
     * vault, since a node reads its own vault only), the repository passphrase and a cluster's
     * replication, Patroni and rewind passwords.
     */
    readonly secretNames: readonly string[];
    /** The password is written here at deploy time, through the management plane (see keyVaultFor). */
    readonly secret: { readonly id: string; readonly apiVersion: string; readonly operation: string };
  };
  readonly network: {
    readonly subnet: { readonly name: string; readonly id: string; readonly addressPrefix: string };
    readonly networkSecurityGroup: AzureResource<{
      readonly location: string;
      readonly tags: AzureTags;
      readonly properties: { readonly securityRules: readonly AzureSecurityRule[] };
    }>;
    readonly networkInterfaces: readonly AzureResource[];
    /** Patroni clusters: an internal Standard Load Balancer that forwards 5432 to whichever node `/primary` says leads. */
    readonly loadBalancer?: AzureResource;
  };
  readonly virtualMachines: readonly AzureResource[];
  readonly commands: {
    readonly operation: 'virtualMachineRunCommands.beginCreateOrUpdate';
    readonly apiVersion: string;
    readonly names: readonly string[];
    readonly settings: { readonly asyncExecution: false; readonly treatFailureAsDeploymentFailure: false; readonly timeoutInSeconds: number };
  };
  readonly postgres: PostgresSection;
  /** Sent as the run commands, with the Azure prelude: the same files as on every cloud. */
  readonly scripts: { readonly install: string; readonly configure: string };
  readonly backup: BackupSchedule & {
    readonly resourceGroup: string;
    readonly storageAccount: AzureResource;
    readonly container: string;
    readonly containerId: string;
    readonly prefix: string;
  };
  readonly cost: CostEstimate;
}

export interface AzureJson {
  readonly apiVersion: typeof AZURE_JSON_VERSION;
  readonly transformerVersion: string;
  readonly planId: string;
  readonly planName: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly region: string;
  /** The plan's VNet, shared by its components: each has its own subnet and security group. */
  readonly virtualNetwork: AzureResource;
  readonly components: readonly AzureComponent[];
  readonly monthlyCostUsd: number;
  readonly deployTimeFields: readonly string[];
}

/** What one component renders against: the plan, where it deploys, and which of the plan's subnets is its own. */
export interface AzureComponentContext {
  readonly planId: string;
  readonly planName: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly region: string;
  /** Its index among the plan's postgres components: its subnet is 10.20.<index>.0/24. */
  readonly subnetIndex?: number;
  /** The plan's apps that use this database (they reach it from inside the VNet). */
  readonly linkedApps?: readonly string[];
}

export function renderAzureJson(plan: Plan, context: RenderContext): AzureJson {
  const { target } = plan;
  if (target.cloud !== 'azure') throw new RangeError(`plan ${plan.name} targets ${target.cloud}, not azure`);
  const where = { planId: context.planId, planName: plan.name, subscriptionId: target.subscriptionId, resourceGroup: target.resourceGroup };
  const databases = postgresComponents(plan);
  const linked = (id: string): string[] =>
    plan.components.flatMap((component) => (component.type === 'app' && component.database?.component === id ? [component.id] : []));
  const components = databases.map((component, subnetIndex) =>
    renderAzureComponent(component, { ...where, region: target.region, subnetIndex, linkedApps: linked(component.id) }),
  );
  const total = components.reduce((sum, component) => sum + component.cost.totalUsd, 0);
  return {
    apiVersion: AZURE_JSON_VERSION,
    transformerVersion: TRANSFORMER_VERSION,
    planId: context.planId,
    planName: plan.name,
    subscriptionId: target.subscriptionId,
    resourceGroup: target.resourceGroup,
    region: target.region,
    virtualNetwork: virtualNetworkFor({ ...where, region: target.region }, databases),
    components,
    monthlyCostUsd: cents(total),
    deployTimeFields: AZURE_DEPLOY_TIME_FIELDS,
  };
}

/** One component of a plan as azure-json: what the Azure provider deploys it from. */
export function renderAzureComponent(component: PostgresComponent, context: AzureComponentContext): AzureComponent {
  const { planId, region } = context;
  const ids = resourceIds(context, component.id);
  const { machine, choice } = azureVmSizeFor(component);
  const sku = azureDiskFor(machine);
  const imageReference = azureImageReference(component.os.name, component.os.version, machine.architecture);
  const tags = { ...baseTags(planId), 'cloudseed-component': component.id };
  const nodes: AzureNode[] = planNodes(component).map(({ name, role }, index) => ({ name, role, zone: String((index % 3) + 1) }));
  const clustered = nodes.length > 1;
  const patroni = usesPatroni(component);
  const subnet = { name: component.id, id: ids.subnet, addressPrefix: subnetPrefix(context.subnetIndex ?? 0) };
  const linkedApps = context.linkedApps ?? [];
  const security = machine.trustedLaunch
    ? { trustedLaunch: true, reason: 'Trusted Launch: Secure Boot and a vTPM on a Gen2 image' }
    : {
        trustedLaunch: false,
        reason: `${machine.name} is named by hardware.azure.vmSize and does not offer Trusted Launch, so it boots as a standard VM (no Secure Boot, no vTPM); leave vmSize out to get a size that has it`,
      };
  const loadBalancer = patroni ? loadBalancerFor(ids, subnet.id, region, tags) : undefined;
  // The node scripts name each secret by the path AWS keeps it under; in the vault it is that path with '-' for '/'.
  const passwordParameter = `/cloudseed/${planId}/${component.id}/password`;
  const image = findOs(component.os.name, component.os.version);
  if (!image) throw new RangeError(`${component.os.name} ${component.os.version} is not in the OS table`);
  return {
    id: component.id,
    vmSize: choice,
    architecture: machine.architecture,
    disk: {
      sku,
      reason:
        sku === 'PremiumV2_LRS'
          ? 'Premium SSD v2 where supported (else Premium SSD): 3000 IOPS and 125 MB/s at any size, billed per GiB; needs a zonal VM'
          : `${machine.name} cannot attach Premium SSD v2, so the data disk is Premium SSD, billed as the smallest P tier that holds it`,
    },
    security,
    os: { name: component.os.name, version: component.os.version, imageReference },
    nodes,
    identity: identityFor(ids, region, tags),
    keyVault: keyVaultFor(ids, subnet.id, region, tags, nodeSecretPaths(component, passwordParameter).map(secretIdFor)),
    network: {
      subnet,
      networkSecurityGroup: {
        name: ids.nsgName,
        id: ids.nsg,
        apiVersion: API_VERSIONS.network,
        operation: 'networkSecurityGroups.beginCreateOrUpdate',
        body: { location: region, tags, properties: { securityRules: securityRules(component, subnet.addressPrefix, linkedApps, patroni) } },
      },
      networkInterfaces: nodes.map((node) => networkInterfaceFor(ids, node, subnet.id, loadBalancer, region, tags)),
      ...(loadBalancer ? { loadBalancer } : {}),
    },
    virtualMachines: nodes.map((node) =>
      virtualMachineFor(
        ids,
        node,
        { machine, sku, imageReference, trustedLaunch: machine.trustedLaunch, sizeGiB: component.hardware.storage.sizeGiB },
        region,
        {
          ...tags,
          'cloudseed-node': node.name,
          'cloudseed-role': node.role,
        },
      ),
    ),
    commands: {
      operation: 'virtualMachineRunCommands.beginCreateOrUpdate',
      apiVersion: API_VERSIONS.compute,
      names: RUN_COMMANDS,
      // Synchronous, and a failed script does not fail the ARM operation: the provider reads the
      // run command's exit code and output from its instance view and reports them itself.
      settings: { asyncExecution: false, treatFailureAsDeploymentFailure: false, timeoutInSeconds: 3600 },
    },
    postgres: postgresSection(component, {
      extraCidrs: linkedApps.length > 0 ? [...INSTANCE_LOOPBACK, VNET_ADDRESS_SPACE] : INSTANCE_LOOPBACK,
      ...(clustered ? { replicationCidrs: [subnet.addressPrefix] } : {}),
      ...(patroni ? { rewindCidrs: [subnet.addressPrefix] } : {}),
    }),
    scripts: {
      install: renderInstallScript(component, image, 'azure'),
      configure: renderConfigureScript(component, image, {
        planId,
        region,
        passwordParameter,
        ...(linkedApps.length > 0 ? { admitVpc: true } : {}),
        elsewhere: {
          cloud: 'azure',
          values: {
            VAULT: ids.keyVaultName,
            STORAGE_ACCOUNT: ids.storageAccountName,
            ARCHIVE_BUCKET: BACKUP_CONTAINER,
            NETWORK_RANGES: [linkedApps.length > 0 ? VNET_ADDRESS_SPACE : subnet.addressPrefix],
          },
          repository: { kind: 'azure', account: ids.storageAccountName, container: ARCHIVE_BUCKET_TOKEN, cipherPass: ARCHIVE_CIPHER_TOKEN },
          metricsPrefix: `plans/${planId}/${component.id}/${METRICS_FOLDER}`,
        },
      }),
    },
    backup: {
      ...backupSchedule(component),
      resourceGroup: BACKUP_RESOURCE_GROUP,
      storageAccount: storageAccountFor(ids, subnet.id, region),
      container: BACKUP_CONTAINER,
      containerId: ids.backupContainer,
      prefix: `plans/${planId}/${component.id}/`,
    },
    cost: azureComponentCost(component),
  };
}

function baseTags(planId: string): Record<string, string> {
  return { 'cloudseed-managed': 'true', 'cloudseed-plan-id': planId };
}

type Ids = ReturnType<typeof resourceIds>;

const providers = ({ subscriptionId, resourceGroup }: AzureComponentContext): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers`;

const vnetId = (context: AzureComponentContext): string => `${providers(context)}/Microsoft.Network/virtualNetworks/cs-${context.planId}`;

function resourceIds(context: AzureComponentContext, componentId: string) {
  const { subscriptionId, resourceGroup, planId, region } = context;
  const group = providers(context);
  const vnet = vnetId(context);
  const prefix = `cs-${planId}-${componentId}`;
  const keyVaultName = `cs${sha256(`${subscriptionId}/${resourceGroup}/${planId}/${componentId}`).slice(0, 22)}`;
  const storageAccountName = backupStorageAccountName(subscriptionId, region);
  const storageAccount = `/subscriptions/${subscriptionId}/resourceGroups/${BACKUP_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${storageAccountName}`;
  const loadBalancer = `${group}/Microsoft.Network/loadBalancers/${prefix}`;
  return {
    subscriptionId,
    planId,
    planName: context.planName,
    componentId,
    prefix,
    vnet,
    subnet: `${vnet}/subnets/${componentId}`,
    nsgName: prefix,
    nsg: `${group}/Microsoft.Network/networkSecurityGroups/${prefix}`,
    identityName: prefix,
    identity: `${group}/Microsoft.ManagedIdentity/userAssignedIdentities/${prefix}`,
    keyVaultName,
    keyVault: `${group}/Microsoft.KeyVault/vaults/${keyVaultName}`,
    storageAccountName,
    storageAccount,
    backupContainer: `${storageAccount}/blobServices/default/containers/${BACKUP_CONTAINER}`,
    loadBalancerName: prefix,
    loadBalancer,
    networkInterface: (node: string) => `${group}/Microsoft.Network/networkInterfaces/cs-${planId}-${node}`,
    virtualMachine: (node: string) => `${group}/Microsoft.Compute/virtualMachines/cs-${planId}-${node}`,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** 3-24 lower-case letters and digits, unique across Azure: one account per subscription and region. */
export function backupStorageAccountName(subscriptionId: string, region: string): string {
  return `csbk${sha256(`${subscriptionId}/${region}`).slice(0, 20)}`;
}

/** Role assignment names are GUIDs; a hash of scope, role and principal makes the same assignment the same name. */
function assignmentGuid(...parts: string[]): string {
  const hex = sha256(parts.join('|'));
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function virtualNetworkFor(context: AzureComponentContext, components: readonly PostgresComponent[]): AzureResource {
  const vnet = vnetId(context);
  const subnets = components.map((component, index) => ({
    name: component.id,
    properties: {
      addressPrefix: subnetPrefix(index),
      networkSecurityGroup: { id: resourceIds(context, component.id).nsg },
      // Service endpoints let the key vault and the backup account admit this subnet by name.
      serviceEndpoints: [{ service: 'Microsoft.KeyVault' }, { service: 'Microsoft.Storage' }],
    },
  }));
  return {
    name: vnet.slice(vnet.lastIndexOf('/') + 1),
    id: vnet,
    apiVersion: API_VERSIONS.network,
    operation: 'virtualNetworks.beginCreateOrUpdate',
    body: {
      location: context.region,
      tags: baseTags(context.planId),
      properties: { addressSpace: { addressPrefixes: [VNET_ADDRESS_SPACE] }, subnets },
    },
  };
}

// Priorities: the SSH deny first (lowest number wins), the allows between, and the deny of the rest
// of the VNet last but before Azure's own AllowVnetInBound (65000).
const PRIORITY = {
  denySsh: 100,
  clientsV4: 200,
  clientsV6: 210,
  apps: 300,
  replication: 400,
  patroni: 410,
  loadBalancerProbe: 420,
  denyVnet: 4000,
} as const;

function securityRules(component: PostgresComponent, subnet: string, linkedApps: readonly string[], patroni: boolean): AzureSecurityRule[] {
  const cidrs = component.network.allowedCidrs;
  const v4 = cidrs.filter((cidr) => !cidr.includes(':'));
  const v6 = cidrs.filter((cidr) => cidr.includes(':'));
  const clustered = component.db.topology.mode === 'cluster';
  const rule = (
    name: string,
    priority: number,
    access: 'Allow' | 'Deny',
    source: { sourceAddressPrefix: string } | { sourceAddressPrefixes: readonly string[] },
    ports: { destinationPortRange: string } | { destinationPortRanges: readonly string[] },
    description: string,
    destinationAddressPrefix = subnet,
    protocol: 'Tcp' | '*' = 'Tcp',
  ): AzureSecurityRule => ({
    name,
    properties: {
      description,
      priority,
      direction: 'Inbound',
      access,
      protocol,
      sourcePortRange: '*',
      ...source,
      destinationAddressPrefix,
      ...ports,
    },
  });
  const postgres = { destinationPortRange: String(POSTGRES_PORT) };
  return [
    // Nodes are run through the VM agent (Run Command), never over SSH.
    rule(
      'deny-ssh',
      PRIORITY.denySsh,
      'Deny',
      { sourceAddressPrefix: '*' },
      { destinationPortRange: '22' },
      'No SSH: nodes are managed through Run Command',
      '*',
    ),
    // An Azure rule takes IPv4 or IPv6 prefixes, not both.
    ...(v4.length > 0
      ? [
          rule(
            'postgres-clients-ipv4',
            PRIORITY.clientsV4,
            'Allow',
            { sourceAddressPrefixes: v4 },
            postgres,
            'PostgreSQL clients (plan allowedCidrs, IPv4)',
          ),
        ]
      : []),
    ...(v6.length > 0
      ? [
          rule(
            'postgres-clients-ipv6',
            PRIORITY.clientsV6,
            'Allow',
            { sourceAddressPrefixes: v6 },
            postgres,
            'PostgreSQL clients (plan allowedCidrs, IPv6)',
          ),
        ]
      : []),
    ...(linkedApps.length > 0
      ? [
          rule(
            'postgres-apps',
            PRIORITY.apps,
            'Allow',
            { sourceAddressPrefix: VNET_ADDRESS_SPACE },
            postgres,
            `PostgreSQL from the plan's apps: ${linkedApps.join(', ')}`,
          ),
        ]
      : []),
    ...(clustered
      ? [
          rule(
            'postgres-replication',
            PRIORITY.replication,
            'Allow',
            { sourceAddressPrefix: subnet },
            postgres,
            'Streaming replication between the nodes',
          ),
        ]
      : []),
    ...(patroni
      ? [
          rule(
            'patroni-etcd',
            PRIORITY.patroni,
            'Allow',
            { sourceAddressPrefix: subnet },
            { destinationPortRanges: [String(PATRONI_REST_PORT), `${ETCD_CLIENT_PORT}-${ETCD_PEER_PORT}`] },
            "Patroni's REST API and etcd between the nodes",
          ),
          rule(
            'patroni-probe',
            PRIORITY.loadBalancerProbe,
            'Allow',
            { sourceAddressPrefix: 'AzureLoadBalancer' },
            { destinationPortRange: String(PATRONI_REST_PORT) },
            "The load balancer's health probe of Patroni's /primary",
          ),
        ]
      : []),
    rule(
      'deny-vnet',
      PRIORITY.denyVnet,
      'Deny',
      { sourceAddressPrefix: 'VirtualNetwork' },
      { destinationPortRange: '*' },
      'Nothing else inside the VNet reaches the nodes',
      '*',
      '*',
    ),
  ];
}

function identityFor(ids: Ids, region: string, tags: AzureTags): AzureComponent['identity'] {
  const assignment = (scope: string, role: (typeof AZURE_ROLES)[keyof typeof AZURE_ROLES]): AzureResource => {
    const name = assignmentGuid(scope, role.id, ids.identity);
    return {
      name,
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      apiVersion: API_VERSIONS.authorization,
      operation: 'roleAssignments.create',
      body: {
        properties: {
          roleDefinitionId: `/subscriptions/${ids.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role.id}`,
          principalType: 'ServicePrincipal',
          description: `CloudSeed ${ids.planName}/${ids.componentId}: ${role.name}`,
        },
      },
    };
  };
  return {
    name: ids.identityName,
    id: ids.identity,
    apiVersion: API_VERSIONS.identity,
    operation: 'userAssignedIdentities.createOrUpdate',
    body: { location: region, tags },
    // The nodes read their own vault's secrets and write this container's backups; nothing else.
    roleAssignments: [
      assignment(ids.keyVault, AZURE_ROLES.keyVaultSecretsUser),
      assignment(ids.backupContainer, AZURE_ROLES.storageBlobDataContributor),
    ],
  };
}

// The key vault holds the component's password, the plan's CA and the cluster's secrets. Reading
// one takes a role: the nodes' identity is a Key Vault Secrets User of this vault only, CloudSeed's
// app holds getSecret through the customer's custom role (the dashboard shows the connection's
// password and CA, as on AWS and GCP). The platform runs outside Azure with no fixed address, so the
// data plane is open to any network, as Parameter Store and Secret Manager are; the subnet's rule
// names the nodes' service endpoint. Secrets are written once, at deploy time, through the
// management plane (Microsoft.KeyVault/vaults/secrets, a PUT of `{ properties: { value } }` through
// ARM), which needs no data-plane role.
// With purge protection a deleted vault keeps its name for 90 days: a plan deployed again with the
// same id within that time recovers its vault (createMode "recover") rather than creating it.
function keyVaultFor(ids: Ids, subnetId: string, region: string, tags: AzureTags, secretNames: readonly string[]): AzureComponent['keyVault'] {
  const [secretName = ''] = secretNames;
  return {
    name: ids.keyVaultName,
    id: ids.keyVault,
    apiVersion: API_VERSIONS.keyVault,
    operation: 'vaults.beginCreateOrUpdate',
    body: {
      location: region,
      tags,
      properties: {
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enablePurgeProtection: true,
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
        publicNetworkAccess: 'Enabled',
        networkAcls: {
          defaultAction: 'Allow',
          bypass: 'AzureServices',
          ipRules: [],
          virtualNetworkRules: [{ id: subnetId, ignoreMissingVnetServiceEndpoint: false }],
        },
      },
    },
    secretName,
    secretNames,
    secret: { id: `${ids.keyVault}/secrets/${secretName}`, apiVersion: API_VERSIONS.keyVault, operation: 'secrets.createOrUpdate' },
  };
}

// Backups: one StorageV2 account per subscription and region, shared by its plans (each under its
// own prefix), with no shared keys and no public blobs: every request signs in with Entra ID (the
// nodes with their managed identity, CloudSeed with the customer's connection, which reads the
// manifests the nodes store and removes expired backups) and is allowed by a role. Its network is
// open as S3's and Cloud Storage's are, since CloudSeed runs outside the customer's VNets: the
// virtualNetworkRules name the subnets of the plans that write to it (the provider merges this
// one's into the rules the account already has), for a customer who chooses to lock it to them and
// read backups from there only. Zone-redundant: the
// nodes are zonal (Premium SSD v2 needs it), so the region has availability zones and ZRS with it,
// and a zone lost with the primary leaves its backups readable.
function storageAccountFor(ids: Ids, subnetId: string, region: string): AzureResource {
  return {
    name: ids.storageAccountName,
    id: ids.storageAccount,
    apiVersion: API_VERSIONS.storage,
    operation: 'storageAccounts.beginCreate',
    body: {
      location: region,
      kind: 'StorageV2',
      sku: { name: 'Standard_ZRS' },
      tags: { 'cloudseed-managed': 'true' },
      properties: {
        minimumTlsVersion: 'TLS1_2',
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        supportsHttpsTrafficOnly: true,
        publicNetworkAccess: 'Enabled',
        networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices', ipRules: [], virtualNetworkRules: [{ id: subnetId, action: 'Allow' }] },
        encryption: { services: { blob: { enabled: true, keyType: 'Account' } }, keySource: 'Microsoft.Storage' },
      },
    },
  };
}

function loadBalancerFor(ids: Ids, subnetId: string, region: string, tags: AzureTags): AzureResource {
  const child = (kind: string, name: string) => ({ id: `${ids.loadBalancer}/${kind}/${name}` });
  return {
    name: ids.loadBalancerName,
    id: ids.loadBalancer,
    apiVersion: API_VERSIONS.network,
    operation: 'loadBalancers.beginCreateOrUpdate',
    body: {
      location: region,
      tags,
      sku: { name: 'Standard', tier: 'Regional' },
      properties: {
        frontendIPConfigurations: [
          { name: 'postgres', zones: ['1', '2', '3'], properties: { subnet: { id: subnetId }, privateIPAllocationMethod: 'Dynamic' } },
        ],
        backendAddressPools: [{ name: 'nodes' }],
        // Patroni answers 200 on /primary only on the leader: five-second probes, two to change state.
        probes: [
          {
            name: 'patroni-primary',
            properties: { protocol: 'Http', port: PATRONI_REST_PORT, requestPath: '/primary', intervalInSeconds: 5, probeThreshold: 2 },
          },
        ],
        loadBalancingRules: [
          {
            name: 'postgres',
            properties: {
              frontendIPConfiguration: child('frontendIPConfigurations', 'postgres'),
              backendAddressPool: child('backendAddressPools', 'nodes'),
              probe: child('probes', 'patroni-primary'),
              protocol: 'Tcp',
              frontendPort: POSTGRES_PORT,
              backendPort: POSTGRES_PORT,
              enableFloatingIP: false,
              enableTcpReset: true,
              idleTimeoutInMinutes: 30,
              disableOutboundSnat: true,
            },
          },
        ],
      },
    },
  };
}

function networkInterfaceFor(
  ids: Ids,
  node: AzureNode,
  subnetId: string,
  loadBalancer: AzureResource | undefined,
  region: string,
  tags: AzureTags,
): AzureResource {
  const id = ids.networkInterface(node.name);
  return {
    name: id.slice(id.lastIndexOf('/') + 1),
    id,
    apiVersion: API_VERSIONS.network,
    operation: 'networkInterfaces.beginCreateOrUpdate',
    // A private address only: no public IP, on this NIC or anywhere in the document.
    body: {
      location: region,
      tags: { ...tags, 'cloudseed-node': node.name },
      properties: {
        ipConfigurations: [
          {
            name: 'primary',
            properties: {
              primary: true,
              privateIPAllocationMethod: 'Dynamic',
              subnet: { id: subnetId },
              ...(loadBalancer ? { loadBalancerBackendAddressPools: [{ id: `${loadBalancer.id}/backendAddressPools/nodes` }] } : {}),
            },
          },
        ],
      },
    },
  };
}

interface VmSpec {
  readonly machine: AzureVmSize;
  readonly sku: AzureDiskSku;
  readonly imageReference: AzureImageReference;
  readonly trustedLaunch: boolean;
  readonly sizeGiB: number;
}

// Every VM is zonal (Premium SSD v2 attaches only to zonal VMs; a cluster's nodes are spread over
// zones 1, 2 and 3), encrypts its disks and temp disk at the host (the subscription must have the
// EncryptionAtHost feature registered) and is reached only through the VM agent.
// SSH: ARM wants a public key when password logins are off. The deploy step generates a key pair
// per VM, sends the public half (ssh.publicKeys, a deploy-time field) and discards the private
// half unseen, so no one holds a key; port 22 is denied by the security group besides.
function virtualMachineFor(ids: Ids, node: AzureNode, spec: VmSpec, region: string, tags: AzureTags): AzureResource {
  const id = ids.virtualMachine(node.name);
  const name = id.slice(id.lastIndexOf('/') + 1);
  return {
    name,
    id,
    apiVersion: API_VERSIONS.compute,
    operation: 'virtualMachines.beginCreateOrUpdate',
    body: {
      location: region,
      tags,
      identity: { type: 'UserAssigned', userAssignedIdentities: { [ids.identity]: {} } },
      zones: [node.zone],
      properties: {
        hardwareProfile: { vmSize: spec.machine.name },
        securityProfile: spec.trustedLaunch
          ? { securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true }, encryptionAtHost: true }
          : { encryptionAtHost: true },
        storageProfile: {
          imageReference: spec.imageReference,
          osDisk: {
            name: `${name}-os`,
            createOption: 'FromImage',
            managedDisk: { storageAccountType: 'Premium_LRS' },
            deleteOption: 'Delete',
            diskSizeGB: OS_DISK_GIB,
          },
          dataDisks: [
            {
              name: `${name}-data`,
              lun: 0,
              createOption: 'Empty',
              diskSizeGB: spec.sizeGiB,
              // Premium SSD v2 takes no host caching; Premium SSD gets none either, so both disks behave alike.
              caching: 'None',
              managedDisk: { storageAccountType: spec.sku },
              deleteOption: 'Delete',
            },
          ],
        },
        osProfile: {
          computerName: node.name,
          adminUsername: ADMIN_USERNAME,
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            provisionVMAgent: true,
            patchSettings: { patchMode: 'AutomaticByPlatform', assessmentMode: 'AutomaticByPlatform' },
          },
        },
        networkProfile: { networkInterfaces: [{ id: ids.networkInterface(node.name), properties: { primary: true, deleteOption: 'Delete' } }] },
        diagnosticsProfile: { bootDiagnostics: { enabled: true } },
      },
    },
  };
}
