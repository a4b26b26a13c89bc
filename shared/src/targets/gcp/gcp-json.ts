import { createHash } from 'node:crypto';
import { postgresComponents } from '../../cs-json/components.ts';
import type { Plan, PostgresComponent } from '../../cs-json/schema.ts';
import { planNodes, POSTGRES_PORT } from '../../postgres/nodes.ts';
import { repoPathFor } from '../../postgres/pgbackrest.ts';
import type { Architecture } from '../../postgres/os.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, PATRONI_REST_PORT, PATRONI_REST_USER, patroniScope, usesPatroni } from '../aws/patroni.ts';
import {
  ARCHIVE_BUCKET_TOKEN,
  ARCHIVE_CIPHER_TOKEN,
  archiveCipherParameterFor,
  certificateAuthorityParameterFor,
  patroniPasswordParameterFor,
  renderConfigureScript,
  renderInstallScript,
  replicationPasswordParameterFor,
  rewindPasswordParameterFor,
  METRICS_FOLDER,
} from '../aws/scripts.ts';
import { secretIdFor } from '../node-scripts.ts';
import { backupSchedule, postgresSection } from '../document.ts';
import type { BackupSchedule, PostgresSection } from '../document.ts';
import type { CostEstimate, MachineChoice } from '../machines.ts';
import { TRANSFORMER_VERSION } from '../version.ts';
import type { RenderContext } from '../version.ts';
import { BOOT_DISK_GIB, BOOT_DISK_TYPE, gcpComponentCost, gcpDiskTypeFor, gcpMachineFor } from './cost.ts';
import { renderStartupScript } from './agent.ts';
import { gcpImageFamily, gcpOsImageFor } from './images.ts';
import { HYPERDISK_BALANCED_BASELINE, onHostMaintenanceFor } from './machine-types.ts';
import type { GcpDiskType } from './machine-types.ts';

// cs-json -> gcp-json: the Compute Engine, IAM, Secret Manager and Cloud Storage requests the GCP
// provider sends, computed up front. A pure function of (plan, planId): no clock, no randomness, no
// lookups, so the same input renders byte-identical JSON. Every request body is the REST API's own
// shape (int64 fields are strings), so the provider adds nothing but the calls.
//
// How commands reach a node. The VMs have no external address and no SSH (port 22 is denied and
// OS Login is on with no one granted it). Install and configure are sent as the instance metadata
// key `cloudseed-command`, which a small agent on the node watches (metadata `?wait_for_change`),
// runs, and answers through guest attributes under the namespace `cloudseed` (hence
// enable-guest-attributes). OS Config was the alternative and was not taken: its OS policies are
// for keeping a fleet patched and converged, with no request and response per command, so a
// deploy could not wait for "configure ran, exit 0" nor read its output. The instance's startup
// script installs the agent (agent.ts, sh/gcp-agent.sh); the scripts it runs are: the same install.sh and configure.sh as on AWS, sent with sh/prelude-gcp.sh (Secret
// Manager, Cloud Storage and the metadata server in place of Parameter Store, S3 and IMDS).

export const GCP_JSON_VERSION = 'cs-gcp/v1';

/** The range of the one subnet of the plan's own VPC, in the plan's region. */
export const SUBNET_RANGE = '10.128.0.0/20';
/** Where Google's health checkers (and so a load balancer's probes) come from. */
export const HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22'] as const;
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const INSTANCE_LOOPBACK = ['127.0.0.1/32'] as const;
const DATA_DEVICE = 'pgdata';
/** Compute Engine and Cloud Storage names: RFC 1035 labels of at most 63 characters. */
const MAX_NAME = 63;
// Label values: lower-case letters, digits, '_' and '-', at most 63 characters. Plan ids (UUIDs) and
// component ids always are; a caller that passes anything else is refused rather than mangled.
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const PLAN_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export type Labels = Readonly<Record<string, string>>;

export interface GcpSecret {
  /** Secret Manager `secrets.create`: `parent` and `secretId` are its query, `secret` its body. No version is added here. */
  readonly parent: string;
  readonly secretId: string;
  readonly secret: {
    readonly replication: { readonly userManaged: { readonly replicas: readonly { readonly location: string }[] } };
    readonly labels: Labels;
  };
  /** `secrets.setIamPolicy`: only the nodes' own service account may read it. */
  readonly iamPolicy: { readonly bindings: readonly IamBinding[] };
}

export interface IamBinding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: { readonly title: string; readonly description: string; readonly expression: string };
}

/** A `firewalls.insert` body. */
export interface GcpFirewall {
  readonly name: string;
  readonly description: string;
  readonly network: string;
  readonly direction: 'INGRESS';
  readonly priority: number;
  readonly sourceRanges?: readonly string[];
  readonly sourceServiceAccounts?: readonly string[];
  readonly targetServiceAccounts: readonly string[];
  readonly allowed?: readonly { readonly IPProtocol: 'tcp'; readonly ports: readonly string[] }[];
  readonly denied?: readonly { readonly IPProtocol: 'tcp'; readonly ports: readonly string[] }[];
}

/** An `instances.insert` request: `project`, `zone` and `requestId` go in the URL, `instanceResource` is the body. */
export interface GcpInstanceInsert {
  readonly project: string;
  readonly zone: string;
  /** Derived from plan, component and node: a retried insert is recognised by Compute Engine as the same request. */
  readonly requestId: string;
  readonly instanceResource: Record<string, unknown>;
}

export interface GcpComponent {
  readonly id: string;
  readonly machine: MachineChoice;
  readonly architecture: Architecture;
  readonly diskType: GcpDiskType;
  /** Compute Engine encrypts every disk at rest with Google-managed keys; no customer key is asked for. */
  readonly encryption: 'google-managed';
  readonly os: { readonly name: string; readonly version: string; readonly image: string };
  /** The nodes' own identity: it is granted its secrets and its backup prefix, and no project-level role. */
  readonly serviceAccount: { readonly accountId: string; readonly displayName: string; readonly email: string };
  readonly secret: GcpSecret;
  /** The passphrase pgBackRest encrypts the component's repository with. */
  readonly archiveCipherSecret: GcpSecret;
  /** Clusters only: the replication role's password. */
  readonly replicationSecret?: GcpSecret;
  /** Clusters of three or more nodes, which fail over by themselves. */
  readonly patroni?: {
    readonly scope: string;
    readonly restPort: number;
    readonly restUser: string;
    readonly restPasswordSecret: GcpSecret;
    readonly rewindPasswordSecret: GcpSecret;
    readonly etcdClientPort: number;
    readonly etcdPeerPort: number;
  };
  /** Patroni clusters: an internal passthrough Network Load Balancer that forwards PostgreSQL's port to the leader. */
  readonly endpoint?: {
    readonly port: number;
    readonly healthCheck: Record<string, unknown>;
    readonly instanceGroup: Record<string, unknown>;
    /** `instanceGroups.addInstances` body, once the instances exist. */
    readonly instanceGroupMembers: { readonly instances: readonly { readonly instance: string }[] };
    readonly backendService: Record<string, unknown>;
    readonly forwardingRule: Record<string, unknown>;
  };
  readonly firewalls: readonly GcpFirewall[];
  /** One per node: the primary first, then its replicas (the node's name and role are in its labels). */
  readonly instances: readonly GcpInstanceInsert[];
  readonly postgres: PostgresSection;
  /** Run as root on every node by the agent, with the GCP prelude: the same files as on every cloud. */
  readonly scripts: { readonly install: string; readonly configure: string };
  readonly backup: BackupSchedule & {
    readonly bucket: {
      readonly name: string;
      /** `buckets.insert` body; the bucket is shared by the project's plans in the region, so a 409 means it is there. */
      readonly request: Record<string, unknown>;
      /** The lifecycle rule the bucket must have, added to one made before it. */
      readonly lifecycleRule: GcsLifecycleRule;
      readonly prefix: string;
      /** Added to the bucket's IAM policy (version 3, for the condition): this component's prefix only. */
      readonly iamBinding: IamBinding;
    };
  };
  readonly cost: CostEstimate;
}

/** A rule of a bucket's lifecycle, as the JSON API writes it. */
export interface GcsLifecycleRule {
  readonly action: { readonly type: 'Delete' };
  readonly condition: { readonly daysSinceNoncurrentTime: number; readonly matchesSuffix: readonly string[] };
}

/**
 * The bucket keeps every object's older versions (a node that may write its prefix could otherwise
 * destroy its backups); the metrics files are rewritten every minute, so their older versions go a
 * day after they were replaced or removed. No backup or archive file ends in .jsonl.
 */
export const METRICS_LIFECYCLE_RULE: GcsLifecycleRule = {
  action: { type: 'Delete' },
  condition: { daysSinceNoncurrentTime: 1, matchesSuffix: ['.jsonl'] },
};

/** The plan's own VPC: one regional subnet, and a Cloud NAT for what is not a Google API. */
export interface GcpNetwork {
  readonly network: Record<string, unknown>;
  readonly subnetwork: Record<string, unknown>;
  readonly router: Record<string, unknown>;
  readonly natReason: string;
}

export interface GcpJson {
  readonly apiVersion: typeof GCP_JSON_VERSION;
  readonly transformerVersion: string;
  readonly planId: string;
  readonly planName: string;
  readonly project: string;
  readonly region: string;
  readonly zone: string;
  readonly network: GcpNetwork;
  /** The plan's certificate authority (its certificate and key), which every component's nodes read to sign their server certificates. */
  readonly certificateAuthoritySecret: GcpSecret;
  readonly components: readonly GcpComponent[];
  readonly monthlyCostUsd: number;
}

/** What one component renders against: the plan it belongs to and where it deploys. */
export interface GcpComponentContext {
  readonly planId: string;
  readonly planName: string;
  readonly project: string;
  readonly region: string;
  readonly zone: string;
  /** The plan's apps that use this database (they reach it from inside the plan's VPC). */
  readonly linkedApps?: readonly string[];
}

export function renderGcpJson(plan: Plan, context: RenderContext): GcpJson {
  const target = plan.target;
  if (target.cloud !== 'gcp') throw new RangeError(`renderGcpJson renders plans for Google Cloud; this one targets ${target.cloud}`);
  const { project, region, zone } = target;
  const where = { planId: context.planId, planName: plan.name, project, region, zone };
  const components = postgresComponents(plan).map((component) => renderGcpComponent(component, where));
  const total = components.reduce((sum, component) => sum + component.cost.totalUsd, 0);
  const certificateAuthority = renderCertificateAuthoritySecret(
    { planId: context.planId, project, region },
    components.map((component) => component.serviceAccount.email),
  );
  return {
    apiVersion: GCP_JSON_VERSION,
    transformerVersion: TRANSFORMER_VERSION,
    planId: context.planId,
    planName: plan.name,
    project,
    region,
    zone,
    network: renderGcpNetwork(where),
    certificateAuthoritySecret: certificateAuthority,
    components,
    monthlyCostUsd: Math.round(total * 100) / 100,
  };
}

/** The VPC every component of the plan lives in. */
export function renderGcpNetwork({ planId, planName, project, region }: Omit<GcpComponentContext, 'zone' | 'linkedApps'>): GcpNetwork {
  checkPlanId(planId);
  const network = networkName(planId);
  return {
    network: {
      name: network,
      description: `CloudSeed ${planName}: the plan's own network`,
      autoCreateSubnetworks: false,
      routingConfig: { routingMode: 'REGIONAL' },
    },
    subnetwork: {
      name: network,
      description: `CloudSeed ${planName}: the plan's nodes in ${region}`,
      network: networkPath(project, planId),
      region,
      ipCidrRange: SUBNET_RANGE,
      privateIpGoogleAccess: true,
    },
    router: {
      name: resourceName('cs', planId, 'router'),
      description: `CloudSeed ${planName}: Cloud NAT for the plan's nodes`,
      network: networkPath(project, planId),
      nats: [
        {
          name: resourceName('cs', planId, 'nat'),
          natIpAllocateOption: 'AUTO_ONLY',
          sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
        },
      ],
    },
    natReason:
      'The nodes have no external address but must reach the Debian/Ubuntu and PostgreSQL (apt.postgresql.org) package mirrors, which are on the internet. ' +
      'Private Google Access on the subnet covers Google APIs (Secret Manager, Cloud Storage) without NAT; Cloud NAT covers apt. It admits no inbound connection.',
  };
}

/** One component of a plan as gcp-json: what the GCP provider deploys it from. */
export function renderGcpComponent(component: PostgresComponent, context: GcpComponentContext): GcpComponent {
  const { planId, planName, project, region, zone, linkedApps } = context;
  checkPlanId(planId);
  checkLabelValue('component id', component.id);
  const { machine, choice } = gcpMachineFor(component);
  const diskType = gcpDiskTypeFor(machine);
  const image = gcpOsImageFor(component);
  const sourceImage = gcpImageFamily(image, machine.architecture);
  const patroni = usesPatroni(component);
  const planned = planNodes(component);
  const clustered = planned.length > 1;
  const admitApps = (linkedApps?.length ?? 0) > 0;

  const labels: Labels = { 'cloudseed-managed': 'true', 'cloudseed-plan-id': planId, 'cloudseed-component': component.id };
  const accountId = `cs-${digest(`${planId}/${component.id}`).slice(0, 20)}`;
  const email = `${accountId}@${project}.iam.gserviceaccount.com`;
  const member = `serviceAccount:${email}`;
  // The node scripts name each secret by the path AWS keeps it under; Secret Manager's id is that path with '-' for '/'.
  const passwordParameter = passwordPath(planId, component.id);
  const secretFor = (path: string): GcpSecret => secretRequest(project, region, secretIdFor(path), labels, [member]);
  const subnetwork = `projects/${project}/regions/${region}/subnetworks/${networkName(planId)}`;

  const instances: GcpInstanceInsert[] = planned.map(({ name, role }) => {
    const nodeLabels: Labels = { ...labels, 'cloudseed-node': name, 'cloudseed-role': role };
    return {
      project,
      zone,
      requestId: requestIdFor(`${planId}/${component.id}/${name}`),
      instanceResource: {
        name: instanceName(planId, name),
        description: `CloudSeed ${planName}/${name}: PostgreSQL ${component.db.version} (${role})`,
        machineType: `zones/${zone}/machineTypes/${machine.name}`,
        labels: nodeLabels,
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        // No accessConfigs: no external address. Outbound goes through Cloud NAT, Google APIs through Private Google Access.
        networkInterfaces: [{ subnetwork }],
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: {
              sourceImage,
              diskSizeGb: String(BOOT_DISK_GIB),
              diskType: `zones/${zone}/diskTypes/${BOOT_DISK_TYPE}`,
              labels: nodeLabels,
            },
          },
          {
            boot: false,
            autoDelete: true,
            deviceName: DATA_DEVICE,
            initializeParams: {
              diskSizeGb: String(component.hardware.storage.sizeGiB),
              diskType: `zones/${zone}/diskTypes/${diskType}`,
              // Exactly the baseline Hyperdisk Balanced includes, so nothing above it is billed (see cost.ts).
              ...(diskType === 'hyperdisk-balanced'
                ? {
                    provisionedIops: String(HYPERDISK_BALANCED_BASELINE.iops),
                    provisionedThroughput: String(HYPERDISK_BALANCED_BASELINE.throughputMiBps),
                  }
                : {}),
              labels: nodeLabels,
            },
          },
        ],
        // The cloud-platform scope with a service account that holds no project role: IAM, not scopes, limits the node.
        serviceAccounts: [{ email, scopes: [CLOUD_PLATFORM_SCOPE] }],
        metadata: {
          items: [
            { key: 'enable-oslogin', value: 'TRUE' },
            { key: 'block-project-ssh-keys', value: 'TRUE' },
            { key: 'enable-guest-attributes', value: 'TRUE' },
            { key: 'serial-port-enable', value: 'FALSE' },
            { key: 'startup-script', value: renderStartupScript() },
          ],
        },
        scheduling: { onHostMaintenance: onHostMaintenanceFor(machine), automaticRestart: true },
        deletionProtection: false,
      },
    };
  });

  const bucket = backupBucketName(project, region);
  const prefix = `plans/${planId}/${component.id}/`;
  const archivePrefix = `${repoPathFor(planId).replace(/^\//, '')}/`;
  const extraCidrs = admitApps ? [...INSTANCE_LOOPBACK, SUBNET_RANGE] : [...INSTANCE_LOOPBACK];
  return {
    id: component.id,
    machine: choice,
    architecture: machine.architecture,
    diskType,
    encryption: 'google-managed',
    os: { name: image.name, version: image.version, image: sourceImage },
    serviceAccount: { accountId, displayName: `CloudSeed ${planName}/${component.id}`.slice(0, 100), email },
    secret: secretFor(passwordParameter),
    archiveCipherSecret: secretFor(archiveCipherParameterFor(passwordParameter)),
    ...(clustered ? { replicationSecret: secretFor(replicationPasswordParameterFor(passwordParameter)) } : {}),
    ...(patroni
      ? {
          patroni: {
            scope: patroniScope(planId, component.id),
            restPort: PATRONI_REST_PORT,
            restUser: PATRONI_REST_USER,
            restPasswordSecret: secretFor(patroniPasswordParameterFor(passwordParameter)),
            rewindPasswordSecret: secretFor(rewindPasswordParameterFor(passwordParameter)),
            etcdClientPort: ETCD_CLIENT_PORT,
            etcdPeerPort: ETCD_PEER_PORT,
          },
          endpoint: renderEndpoint(component, context, labels, instances),
        }
      : {}),
    firewalls: renderFirewalls(component, context, email, { clustered, patroni, admitApps }),
    instances,
    // Every node's address is in the plan's subnet, so replication (and pg_rewind) are admitted from it; SCRAM over TLS still applies.
    postgres: postgresSection(component, {
      extraCidrs,
      ...(clustered ? { replicationCidrs: [SUBNET_RANGE] } : {}),
      ...(patroni ? { rewindCidrs: [SUBNET_RANGE] } : {}),
    }),
    scripts: {
      install: renderInstallScript(component, image, 'gcp'),
      configure: renderConfigureScript(component, image, {
        planId,
        region,
        passwordParameter,
        ...(admitApps ? { admitVpc: true } : {}),
        elsewhere: {
          cloud: 'gcp',
          values: { PROJECT: project, ARCHIVE_BUCKET: bucket, NETWORK_RANGES: [SUBNET_RANGE] },
          repository: { kind: 'gcs', bucket: ARCHIVE_BUCKET_TOKEN, cipherPass: ARCHIVE_CIPHER_TOKEN },
          metricsPrefix: `${prefix}${METRICS_FOLDER}`,
        },
      }),
    },
    backup: {
      ...backupSchedule(component),
      bucket: {
        name: bucket,
        request: {
          name: bucket,
          location: region.toUpperCase(),
          storageClass: 'STANDARD',
          iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'enforced' },
          versioning: { enabled: true },
          lifecycle: { rule: [METRICS_LIFECYCLE_RULE] },
          labels: { 'cloudseed-managed': 'true' },
        },
        lifecycleRule: METRICS_LIFECYCLE_RULE,
        prefix,
        iamBinding: {
          role: 'roles/storage.objectAdmin',
          members: [member],
          condition: {
            title: `cloudseed ${planId}/${component.id} backups`,
            description: `CloudSeed ${planName}/${component.id}: its own backups only`,
            // Objects under the prefix, and listings that ask for that prefix (a list is checked against the bucket, not an object).
            // pgBackRest keeps the plan's repository under its own path beside them (repoPathFor).
            expression:
              `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${prefix}") || ` +
              `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${archivePrefix}") || ` +
              `(resource.type == "storage.googleapis.com/Bucket" && (api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("${prefix}") || ` +
              `api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("${archivePrefix}")))`,
          },
        },
      },
    },
    cost: gcpComponentCost(component),
  };
}

/** The plan's certificate authority (certificate and key): one secret, which the service accounts `readers` (the components' nodes) may read. */
export function renderCertificateAuthoritySecret(
  { planId, project, region }: Pick<GcpComponentContext, 'planId' | 'project' | 'region'>,
  readers: readonly string[],
): GcpSecret {
  return secretRequest(
    project,
    region,
    secretIdFor(certificateAuthorityParameterFor(passwordPath(planId, 'any'))),
    { 'cloudseed-managed': 'true', 'cloudseed-plan-id': planId },
    readers.map((email) => `serviceAccount:${email}`),
  );
}

/** Where the node scripts (and the AWS provider) keep a component's password: `/cloudseed/<plan>/<component>/password`. */
function passwordPath(planId: string, componentId: string): string {
  return `/cloudseed/${planId}/${componentId}/password`;
}

function secretRequest(project: string, region: string, secretId: string, labels: Labels, members: readonly string[]): GcpSecret {
  return {
    parent: `projects/${project}`,
    secretId,
    // Kept in the plan's region only, beside the nodes that read it.
    secret: { replication: { userManaged: { replicas: [{ location: region }] } }, labels },
    iamPolicy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members }] },
  };
}

/**
 * The component's ingress rules. Google Cloud's implied rules already deny all ingress; these open
 * PostgreSQL to the plan's allowedCidrs (one rule per address family: a rule cannot mix them), let
 * the nodes reach each other, and put an explicit deny on SSH above everything, so a broad rule
 * added to the network later still cannot open port 22.
 */
function renderFirewalls(
  component: PostgresComponent,
  { planId, planName, project }: GcpComponentContext,
  email: string,
  { clustered, patroni, admitApps }: { readonly clustered: boolean; readonly patroni: boolean; readonly admitApps: boolean },
): GcpFirewall[] {
  const network = networkPath(project, planId);
  const rule = (
    suffix: string,
    description: string,
    fields: Pick<GcpFirewall, 'sourceRanges' | 'sourceServiceAccounts' | 'allowed' | 'denied'> & { readonly priority?: number },
  ): GcpFirewall => ({
    name: resourceName('cs', planId, component.id, suffix),
    description: `CloudSeed ${planName}/${component.id}: ${description}`,
    network,
    direction: 'INGRESS',
    priority: fields.priority ?? 1000,
    ...(fields.sourceRanges ? { sourceRanges: fields.sourceRanges } : {}),
    ...(fields.sourceServiceAccounts ? { sourceServiceAccounts: fields.sourceServiceAccounts } : {}),
    targetServiceAccounts: [email],
    ...(fields.allowed ? { allowed: fields.allowed } : {}),
    ...(fields.denied ? { denied: fields.denied } : {}),
  });
  const tcp = (...ports: (number | string)[]) => [{ IPProtocol: 'tcp', ports: ports.map(String) }] as const;
  const cidrs = component.network.allowedCidrs;
  const families = [
    { suffix: 'postgres-v4', ranges: cidrs.filter((cidr) => !cidr.includes(':')) },
    { suffix: 'postgres-v6', ranges: cidrs.filter((cidr) => cidr.includes(':')) },
  ];
  const rules: GcpFirewall[] = [
    rule('deny-ssh', 'no SSH from anywhere; commands travel through instance metadata', {
      priority: 100,
      sourceRanges: ['0.0.0.0/0'],
      denied: tcp(22),
    }),
    ...families
      .filter((family) => family.ranges.length > 0)
      .map((family) =>
        rule(family.suffix, 'PostgreSQL from the plan allowed networks only', { sourceRanges: family.ranges, allowed: tcp(POSTGRES_PORT) }),
      ),
  ];
  if (clustered) {
    const ports = patroni ? tcp(POSTGRES_PORT, PATRONI_REST_PORT, `${ETCD_CLIENT_PORT}-${ETCD_PEER_PORT}`) : tcp(POSTGRES_PORT);
    rules.push(
      rule('cluster', `replication${patroni ? ', Patroni and etcd' : ''} between the component's own nodes`, {
        sourceServiceAccounts: [email],
        allowed: ports,
      }),
    );
  }
  if (patroni) {
    rules.push(
      rule('health-checks', "the load balancer's health checks of Patroni's /primary", {
        sourceRanges: [...HEALTH_CHECK_RANGES],
        allowed: tcp(PATRONI_REST_PORT),
      }),
    );
  }
  if (admitApps) {
    rules.push(rule('apps', "PostgreSQL from the plan's apps inside its network", { sourceRanges: [SUBNET_RANGE], allowed: tcp(POSTGRES_PORT) }));
  }
  return rules;
}

/**
 * A Patroni cluster's one address: an internal passthrough Network Load Balancer whose backend is
 * an unmanaged instance group of the nodes, healthy only where Patroni's `/primary` answers 200.
 * Five-second checks, two to change state, as on AWS. Clients keep their own source address
 * through it, so the allowedCidrs rules admit them at the nodes.
 */
function renderEndpoint(
  component: PostgresComponent,
  { planId, planName, project, region, zone }: GcpComponentContext,
  labels: Labels,
  instances: readonly GcpInstanceInsert[],
): NonNullable<GcpComponent['endpoint']> {
  const healthCheck = resourceName('cs', planId, component.id, 'primary');
  const group = resourceName('cs', planId, component.id);
  const backendService = resourceName('cs', planId, component.id);
  const description = `CloudSeed ${planName}/${component.id}: PostgreSQL on the current leader`;
  return {
    port: POSTGRES_PORT,
    healthCheck: {
      name: healthCheck,
      description: `CloudSeed ${planName}/${component.id}: Patroni answers 200 on /primary only on the leader`,
      type: 'HTTP',
      httpHealthCheck: { port: PATRONI_REST_PORT, requestPath: '/primary' },
      checkIntervalSec: 5,
      timeoutSec: 2,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    },
    instanceGroup: {
      name: group,
      description,
      network: networkPath(project, planId),
    },
    instanceGroupMembers: {
      instances: instances.map((instance) => ({ instance: `projects/${project}/zones/${zone}/instances/${String(instance.instanceResource.name)}` })),
    },
    backendService: {
      name: backendService,
      description,
      loadBalancingScheme: 'INTERNAL',
      protocol: 'TCP',
      network: networkPath(project, planId),
      healthChecks: [`projects/${project}/regions/${region}/healthChecks/${healthCheck}`],
      backends: [{ group: `projects/${project}/zones/${zone}/instanceGroups/${group}`, balancingMode: 'CONNECTION' }],
    },
    forwardingRule: {
      name: resourceName('cs', planId, component.id),
      description,
      loadBalancingScheme: 'INTERNAL',
      IPProtocol: 'TCP',
      ports: [String(POSTGRES_PORT)],
      network: networkPath(project, planId),
      subnetwork: `projects/${project}/regions/${region}/subnetworks/${networkName(planId)}`,
      backendService: `projects/${project}/regions/${region}/backendServices/${backendService}`,
      labels,
    },
  };
}

/** The bucket a project's backups go to in a region: one per project and region, its name global, so hashed. */
export function backupBucketName(project: string, region: string): string {
  return `cloudseed-backups-${digest(`${project}/${region}`).slice(0, 16)}`;
}

function networkName(planId: string): string {
  return resourceName('cs', planId);
}

function networkPath(project: string, planId: string): string {
  return `projects/${project}/global/networks/${networkName(planId)}`;
}

/** `cs-<planId>-<node>`; the node's name already begins with its component's id. */
function instanceName(planId: string, node: string): string {
  return resourceName('cs', planId, node);
}

/**
 * A Compute Engine name from its parts: the parts joined by '-' when that fits in 63 characters,
 * else cut short and ended with eight hex digits of the whole, so two long names stay apart.
 */
export function resourceName(...parts: string[]): string {
  const joined = parts.join('-');
  if (joined.length <= MAX_NAME) return joined;
  const suffix = digest(joined).slice(0, 8);
  return `${joined.slice(0, MAX_NAME - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
}

/**
 * A UUID (version 4 layout) from a hash of `seed`: the same request every render, so Compute
 * Engine treats a retried insert as the one already made. It remembers a request id for a limited
 * time only; a provider that deletes and re-creates a node within that time must salt the seed.
 */
export function requestIdFor(seed: string): string {
  const hex = digest(seed).slice(0, 32).split('');
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const text = hex.join('');
  return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20, 32)}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function checkPlanId(planId: string): void {
  if (!PLAN_ID.test(planId)) throw new RangeError(`plan id ${JSON.stringify(planId)} cannot name Google Cloud resources and labels`);
}

function checkLabelValue(what: string, value: string): void {
  if (!LABEL_VALUE.test(value)) throw new RangeError(`${what} ${JSON.stringify(value)} is not a valid Google Cloud label value`);
}
