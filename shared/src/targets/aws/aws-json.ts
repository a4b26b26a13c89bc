import { toScheduleExpression } from '../../cs-json/cron.ts';
import { postgresComponents } from '../../cs-json/components.ts';
import type { Plan, PostgresComponent } from '../../cs-json/schema.ts';
import type { NodeRole } from '../../postgres/config.ts';
import { renderPgHba, tuneComponent } from '../../postgres/config.ts';
import { planNodes, POSTGRES_PORT } from '../../postgres/nodes.ts';
import { findOs } from '../../postgres/os.ts';
import type { OsImage } from '../../postgres/os.ts';
import { TRANSFORMER_VERSION } from '../version.ts';
import type { RenderContext } from '../version.ts';
import { amiParameter as amiParameterOf } from './images.ts';
import { componentCost, instanceTypeFor } from './cost.ts';
import type { CostEstimate, InstanceType } from './instances.ts';
import {
  INSTANCE_LOOPBACK,
  renderAwsPostgresqlConf,
  renderConfigureScript,
  renderInstallScript,
  patroniPasswordParameterFor,
  replicationPasswordParameterFor,
  rewindPasswordParameterFor,
} from './scripts.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, PATRONI_REST_PORT, PATRONI_REST_USER, patroniScope, usesPatroni } from './patroni.ts';

// cs-json -> aws-json: everything the deploy workflow needs, computed up front. The output is a
// pure function of (plan, planId): no clock, no randomness, no lookups, so the same input always
// renders to byte-identical JSON and a diff of two renders is a diff of two plans.

export const AWS_JSON_VERSION = 'cs-aws/v1';
/** Fields of RunInstances that only the deploy step knows (they depend on the customer's account or the execution). */
export const DEPLOY_TIME_FIELDS = ['ClientToken', 'SecurityGroupIds', 'SubnetId', 'IamInstanceProfile'] as const;

const ROOT_DEVICE: Record<OsImage['name'], string> = {
  'amazon-linux': '/dev/xvda',
  ubuntu: '/dev/sda1',
  debian: '/dev/xvda',
};

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

export interface AwsNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly tags: readonly Tag[];
}

export interface AwsComponent {
  readonly id: string;
  readonly instanceType: string;
  readonly architecture: InstanceType['architecture'];
  readonly os: { readonly name: string; readonly version: string; readonly amiParameter: string };
  readonly nodes: readonly AwsNode[];
  readonly securityGroup: {
    readonly GroupName: string;
    readonly Description: string;
    readonly IpPermissions: readonly unknown[];
    readonly replicationBetweenNodes: boolean;
    readonly tags: readonly Tag[];
  };
  readonly runInstances: Record<string, unknown>;
  readonly passwordParameter: string;
  /** Clusters only: the replication role's password. */
  readonly replicationPasswordParameter?: string;
  /**
   * Clusters of three or more nodes, which fail over by themselves: Patroni's scope, its REST API
   * (port, login and the SecureString of its password) and the SecureString of the rewind role's password.
   */
  readonly patroni?: {
    readonly scope: string;
    readonly restPort: number;
    readonly restUser: string;
    readonly restPasswordParameter: string;
    readonly rewindPasswordParameter: string;
    readonly etcdClientPort: number;
    readonly etcdPeerPort: number;
  };
  /**
   * Patroni clusters: one address for clients inside the VPC, an internal Network Load Balancer
   * that forwards PostgreSQL's port to whichever node Patroni's `/primary` says leads. Its own
   * security group admits the plan's allowed networks; the nodes admit it.
   */
  readonly endpoint?: {
    readonly port: number;
    readonly securityGroup: { readonly GroupName: string; readonly Description: string; readonly IpPermissions: readonly unknown[] };
    readonly healthCheck: ClusterEndpointHealthCheck;
    readonly tags: readonly Tag[];
  };
  readonly postgres: {
    readonly major: number;
    readonly port: number;
    readonly databaseName: string;
    readonly username: string;
    readonly settings: Record<string, string>;
    readonly warnings: readonly string[];
    readonly postgresqlConf: string;
    readonly pgHbaConf: string;
  };
  readonly scripts: { readonly install: string; readonly configure: string };
  readonly backup: {
    readonly enabled: boolean;
    readonly cron: string;
    readonly scheduleExpression: string;
    readonly timezone: string;
    readonly retentionDays: number;
    readonly validate: boolean;
    readonly s3Prefix: string;
  };
  readonly cost: CostEstimate;
}

/** The target group's health check: Patroni answers 200 on `/primary` only on the leader. */
export interface ClusterEndpointHealthCheck {
  readonly HealthCheckProtocol: 'HTTP';
  readonly HealthCheckPort: string;
  readonly HealthCheckPath: string;
  readonly HealthCheckIntervalSeconds: number;
  readonly HealthCheckTimeoutSeconds: number;
  readonly HealthyThresholdCount: number;
  readonly UnhealthyThresholdCount: number;
  readonly Matcher: { readonly HttpCode: string };
}

/**
 * Five-second checks, two to change state: the load balancer follows a new leader about ten
 * seconds after Patroni promotes it (the multi-host URI follows at once).
 */
export const CLUSTER_ENDPOINT_HEALTH_CHECK: ClusterEndpointHealthCheck = {
  HealthCheckProtocol: 'HTTP',
  HealthCheckPort: String(PATRONI_REST_PORT),
  HealthCheckPath: '/primary',
  HealthCheckIntervalSeconds: 5,
  HealthCheckTimeoutSeconds: 2,
  HealthyThresholdCount: 2,
  UnhealthyThresholdCount: 2,
  Matcher: { HttpCode: '200' },
};

export interface AwsJson {
  readonly apiVersion: typeof AWS_JSON_VERSION;
  readonly transformerVersion: string;
  readonly planId: string;
  readonly planName: string;
  readonly region: string;
  readonly components: readonly AwsComponent[];
  readonly monthlyCostUsd: number;
}

export function osImageFor(component: PostgresComponent): OsImage {
  const image = findOs(component.os.name, component.os.version);
  if (!image) throw new RangeError(`${component.os.name} ${component.os.version} is not in the OS table`);
  return image;
}

/** What one component renders against: the plan it belongs to and the region it deploys to. */
interface ComponentContext {
  readonly planId: string;
  readonly planName: string;
  readonly region: string;
  /** The plan's apps that use this database (they reach it from inside the VPC). */
  readonly linkedApps?: readonly string[];
}

/** The region a plan's aws-json is rendered for (a plan for another cloud gets the default, for its cost estimate). */
export function renderRegion(target: Plan['target']): string {
  return target.cloud === 'aws' ? target.region : 'us-east-1';
}

export function renderAwsJson(plan: Plan, context: RenderContext): AwsJson {
  const region = renderRegion(plan.target);
  const components = postgresComponents(plan).map((component) =>
    renderAwsComponent(component, { planId: context.planId, planName: plan.name, region }),
  );
  const total = components.reduce((sum, component) => sum + component.cost.totalUsd, 0);
  return {
    apiVersion: AWS_JSON_VERSION,
    transformerVersion: TRANSFORMER_VERSION,
    planId: context.planId,
    planName: plan.name,
    region,
    components,
    monthlyCostUsd: Math.round(total * 100) / 100,
  };
}

/** One component of a plan as aws-json: what the AWS provider deploys it from. */
export function renderAwsComponent(component: PostgresComponent, { planId, planName, region, linkedApps }: ComponentContext): AwsComponent {
  const instance = instanceTypeFor(component);
  const image = osImageFor(component);
  const major = Number(component.db.version);
  const baseTags: Tag[] = [
    { Key: 'cloudseed:managed', Value: 'true' },
    { Key: 'cloudseed:plan-id', Value: planId },
    { Key: 'cloudseed:component', Value: component.id },
  ];
  const nodes: AwsNode[] = planNodes(component).map(({ name, role }) => {
    return {
      name,
      role,
      tags: [
        ...baseTags,
        { Key: 'cloudseed:node', Value: name },
        { Key: 'cloudseed:role', Value: role },
        { Key: 'Name', Value: `${planName}/${name}` },
      ],
    };
  });
  const clustered = nodes.length > 1;
  const passwordParameter = `/cloudseed/${planId}/${component.id}/password`;
  const replicationPasswordParameter = clustered ? replicationPasswordParameterFor(passwordParameter) : undefined;
  const tuned = tuneComponent(component);
  const amiParameter = amiParameterOf(image, instance.architecture);
  return {
    id: component.id,
    instanceType: instance.name,
    architecture: instance.architecture,
    os: { name: image.name, version: image.version, amiParameter },
    nodes,
    securityGroup: {
      GroupName: `cloudseed-${planId}-${component.id}`,
      Description: `CloudSeed ${planName}/${component.id}: PostgreSQL from the plan allowed networks only`,
      IpPermissions: ingressRules(component),
      replicationBetweenNodes: clustered,
      tags: [...baseTags, { Key: 'Name', Value: `${planName}/${component.id}` }],
    },
    runInstances: {
      ImageId: component.hardware.aws?.ami ?? `resolve:ssm:${amiParameter}`,
      InstanceType: instance.name,
      MinCount: 1,
      MaxCount: 1,
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'disabled' },
      BlockDeviceMappings: [
        {
          DeviceName: ROOT_DEVICE[image.name],
          Ebs: {
            VolumeType: 'gp3',
            VolumeSize: component.hardware.storage.sizeGiB,
            Encrypted: true,
            DeleteOnTermination: true,
            Iops: 3000,
            Throughput: 125,
          },
        },
      ],
      DisableApiTermination: false,
      InstanceInitiatedShutdownBehavior: 'stop',
    },
    passwordParameter,
    ...(replicationPasswordParameter ? { replicationPasswordParameter } : {}),
    ...(usesPatroni(component)
      ? {
          patroni: {
            scope: patroniScope(planId, component.id),
            restPort: PATRONI_REST_PORT,
            restUser: PATRONI_REST_USER,
            restPasswordParameter: patroniPasswordParameterFor(passwordParameter),
            rewindPasswordParameter: rewindPasswordParameterFor(passwordParameter),
            etcdClientPort: ETCD_CLIENT_PORT,
            etcdPeerPort: ETCD_PEER_PORT,
          },
          endpoint: {
            port: POSTGRES_PORT,
            securityGroup: {
              GroupName: `cloudseed-${planId}-${component.id}-endpoint`,
              Description: `CloudSeed ${planName}/${component.id} load balancer: PostgreSQL from the plan allowed networks only`,
              IpPermissions: ingressRules(component),
            },
            healthCheck: CLUSTER_ENDPOINT_HEALTH_CHECK,
            tags: [...baseTags, { Key: 'Name', Value: `${planName}/${component.id}` }],
          },
        }
      : {}),
    postgres: {
      major,
      port: POSTGRES_PORT,
      databaseName: component.db.databaseName,
      username: component.db.username,
      settings: tuned.settings,
      warnings: tuned.warnings,
      postgresqlConf: renderAwsPostgresqlConf(component, image),
      pgHbaConf: renderPgHba(component, { extraCidrs: INSTANCE_LOOPBACK }),
    },
    scripts: {
      install: renderInstallScript(component, image),
      configure: renderConfigureScript(component, image, {
        planId,
        region,
        passwordParameter,
        ...(replicationPasswordParameter ? { replicationPasswordParameter } : {}),
        ...(linkedApps?.length ? { admitVpc: true } : {}),
      }),
    },
    backup: {
      enabled: component.db.backup.enabled,
      cron: component.db.backup.schedule,
      scheduleExpression: toScheduleExpression(component.db.backup.schedule),
      timezone: component.db.backup.timezone,
      retentionDays: component.db.backup.retentionDays,
      validate: component.db.backup.validate,
      s3Prefix: `plans/${planId}/${component.id}/`,
    },
    cost: componentCost(component),
  };
}

function ingressRules(component: PostgresComponent): unknown[] {
  const cidrs = component.network.allowedCidrs;
  const v4 = cidrs.filter((cidr) => !cidr.includes(':'));
  const v6 = cidrs.filter((cidr) => cidr.includes(':'));
  if (cidrs.length === 0) return [];
  return [
    {
      IpProtocol: 'tcp',
      FromPort: POSTGRES_PORT,
      ToPort: POSTGRES_PORT,
      IpRanges: v4.map((CidrIp) => ({ CidrIp, Description: 'PostgreSQL clients (plan allowedCidrs)' })),
      Ipv6Ranges: v6.map((CidrIpv6) => ({ CidrIpv6, Description: 'PostgreSQL clients (plan allowedCidrs)' })),
    },
  ];
}
