import * as z from 'zod';
import { dataSizes, storageKinds, supportedPgMajors, workloads } from '../postgres/pgtune.ts';
import { isParameterName, normaliseParameter, PARAMETER_NAMES } from '../postgres/parameters.ts';
import type { ParameterName } from '../postgres/parameters.ts';
import { ROLE_ACCESS, ROLES_MIN_MAJOR } from '../postgres/access.ts';
import { checkBackupInterval, checkCron, isTimeZone } from './cron.ts';
import { checkCidr } from './network.ts';
import { appComponentFields } from './app-schema.ts';

// cs-json v1: the cloud-agnostic plan. Every object is strict (unknown fields are errors) and
// every limit is one a real deployment would hit, so that what validates can be deployed.

export const API_VERSION = 'cs/v1';

export const PLAN_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,61}[A-Za-z0-9])?$/;
const COMPONENT_ID = /^[a-z][a-z0-9-]{0,30}$/;
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const RESERVED_IDENTIFIERS = new Set(['postgres', 'template0', 'template1', 'public', 'cloudseed', 'replicator']);
const AWS_REGION = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
export const DEFAULT_AWS_REGION = 'us-east-1';
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
export const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;
// Google's own rules: a project id is 6-30 lower-case letters, digits and hyphens, starting with a
// letter and not ending with a hyphen; regions are like us-central1, zones their region plus -a..-z.
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d{1,2}$/;
const GCP_ZONE = /^[a-z]+-[a-z]+\d{1,2}-[a-z]$/;
export const DEFAULT_GCP_REGION = 'us-central1';
// Azure: subscription ids are GUIDs; resource group names 1-90 letters, digits, '-', '_', '.', '(' or ')',
// not ending in '.'; regions are the lower-case names the ARM API takes (eastus, westeurope, eastus2).
const AZURE_SUBSCRIPTION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AZURE_RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const AZURE_REGION = /^[a-z]+[a-z0-9]*$/;
export const DEFAULT_AZURE_REGION = 'eastus';
const GCP_MACHINE_TYPE = /^[a-z][a-z0-9]*-[a-z0-9-]+$/;
const AZURE_VM_SIZE = /^Standard_[A-Za-z0-9_]+$/;

export const osNames = ['amazon-linux', 'ubuntu', 'debian'] as const;
export const pgVersions = supportedPgMajors.map(String) as [string, ...string[]];
export const DEFAULT_PG_VERSION = '17';

export const planName = z
  .string()
  .regex(PLAN_NAME, 'must be 1-63 letters, digits, spaces, dots, underscores or hyphens, starting and ending with a letter or digit');

const sqlIdentifier = z
  .string()
  .regex(SQL_IDENTIFIER, 'must be 1-63 lower-case letters, digits or underscores, not starting with a digit')
  .refine((name) => !RESERVED_IDENTIFIERS.has(name) && !name.startsWith('pg_'), 'is reserved by PostgreSQL or CloudSeed');

/** A role's name: an identifier that is not PostgreSQL's, nor CloudSeed's own (`cloudseed_…`). */
const roleName = sqlIdentifier.refine((name) => !name.startsWith('cloudseed'), 'is reserved by CloudSeed');
const MAX_DATABASES = 10;
const MAX_ROLES = 20;

export const awsRegion = z.string().regex(AWS_REGION, 'must be an AWS region code such as us-east-1');

const cidr = z.string().superRefine((text, context) => {
  const check = checkCidr(text);
  if (!check.ok) context.addIssue({ code: 'custom', message: check.reason });
});

const backupSchedule = z
  .string()
  .max(100)
  .superRefine((text, context) => {
    const check = checkCron(text);
    const interval = check.ok ? checkBackupInterval(text) : check;
    if (!interval.ok) context.addIssue({ code: 'custom', message: interval.reason });
  });

const accountId = z.string().regex(ACCOUNT_ID, 'must name a connected account').optional();

export const gcpProject = z
  .string()
  .regex(GCP_PROJECT, 'must be a Google Cloud project id: 6-30 lower-case letters, digits or hyphens, starting with a letter');
export const gcpRegion = z.string().regex(GCP_REGION, 'must be a Google Cloud region such as us-central1');
export const azureSubscription = z.string().regex(AZURE_SUBSCRIPTION, 'must be an Azure subscription id (a GUID in lower case)');
export const azureResourceGroup = z
  .string()
  .regex(AZURE_RESOURCE_GROUP, "must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'");
export const azureRegion = z.string().regex(AZURE_REGION, 'must be an Azure region name such as eastus or westeurope');

const gcpTarget = z
  .strictObject({
    cloud: z.literal('gcp'),
    project: gcpProject,
    region: gcpRegion.default(DEFAULT_GCP_REGION),
    zone: z.string().regex(GCP_ZONE, 'must be a zone of the region such as us-central1-a').optional(),
    accountId,
  })
  .superRefine((target, context) => {
    if (target.zone !== undefined && !target.zone.startsWith(`${target.region}-`)) {
      context.addIssue({ code: 'custom', path: ['zone'], message: `must be a zone of ${target.region}, such as ${target.region}-a` });
    }
  });

/** The targets as written (a GCP zone may be left out); targetSchema fills what they leave. */
export const targetUnion = z.discriminatedUnion(
  'cloud',
  [
    z.strictObject({ cloud: z.literal('local') }),
    z.strictObject({
      cloud: z.literal('aws'),
      region: awsRegion.default(DEFAULT_AWS_REGION),
      accountId,
    }),
    gcpTarget,
    z.strictObject({
      cloud: z.literal('azure'),
      subscriptionId: azureSubscription,
      resourceGroup: azureResourceGroup,
      region: azureRegion.default(DEFAULT_AZURE_REGION),
      accountId,
    }),
  ],
  {
    error:
      'must be { "cloud": "local" }, { "cloud": "aws", ... }, { "cloud": "gcp", "project": ... } or { "cloud": "azure", "subscriptionId": ..., "resourceGroup": ... }',
  },
);

// A GCP target always names its zone: the region's "-a" when none is given.
export const targetSchema = targetUnion.transform((target) =>
  target.cloud === 'gcp' ? { ...target, zone: target.zone ?? `${target.region}-a` } : target,
);

/** The clouds a plan can target. */
export type Cloud = z.output<typeof targetSchema>['cloud'];

const componentId = z.string().regex(COMPONENT_ID, 'must be 1-31 lower-case letters, digits or hyphens, starting with a letter');

const positionSchema = z.strictObject({
  x: z.number().min(0).max(100_000),
  y: z.number().min(0).max(100_000),
});

const osSchema = z.strictObject({
  name: z.enum(osNames),
  version: z.string().max(16),
});

const hardwareSchema = z.strictObject({
  cpus: z.int().min(1).max(192).optional(),
  memoryGiB: z.number().min(0.5).max(1536).multipleOf(0.5).optional(),
  storage: z
    .strictObject({
      type: z.enum(storageKinds).default('ssd'),
      sizeGiB: z.int().min(8).max(16_384).default(20),
    })
    .prefault({}),
  aws: z
    .strictObject({
      instanceType: z.string().regex(INSTANCE_TYPE, 'must be an EC2 instance type such as t3.medium').optional(),
      ami: z.string().regex(AMI_ID, 'must be an AMI id such as ami-0123456789abcdef0').optional(),
    })
    .optional(),
  gcp: z
    .strictObject({
      machineType: z.string().regex(GCP_MACHINE_TYPE, 'must be a Compute Engine machine type such as e2-standard-2').optional(),
    })
    .optional(),
  azure: z
    .strictObject({
      vmSize: z.string().regex(AZURE_VM_SIZE, 'must be an Azure VM size such as Standard_D2s_v5').optional(),
    })
    .optional(),
});

// WAL is archived continuously; these say when base backups are taken. The daily one (`schedule`)
// is a full when the newest full is `fullEveryDays` old, else a differential; incrementals run
// every `incrementalEveryHours` between them (0: none).
const backupSchema = z.strictObject({
  enabled: z.boolean().default(true),
  schedule: backupSchedule.default('0 3 * * *'),
  timezone: z.string().max(64).refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin').default('UTC'),
  retentionDays: z.int().min(1).max(3650).default(7),
  validate: z.boolean().default(true),
  fullEveryDays: z.int().min(1).max(35).default(7),
  incrementalEveryHours: z
    .int()
    .min(0)
    .max(12)
    .refine((hours) => hours === 0 || 24 % hours === 0, 'must divide a day: 0 (none), 1, 2, 3, 4, 6, 8 or 12')
    .default(4),
});

const topologySchema = z
  .strictObject({
    mode: z.enum(['single', 'cluster']).default('single'),
    replicas: z.int().min(0).max(5).default(0),
    /** Commits wait for a replica to confirm them: no acknowledged write is lost on failover, at one network round trip per commit. */
    synchronous: z.boolean().default(false),
  })
  .superRefine((topology, context) => {
    if (topology.mode === 'single' && topology.replicas !== 0) {
      context.addIssue({ code: 'custom', path: ['replicas'], message: 'must be 0 for a single node; use mode "cluster" for replicas' });
    }
    if (topology.mode === 'single' && topology.synchronous) {
      context.addIssue({ code: 'custom', path: ['synchronous'], message: 'synchronous replication needs a cluster (mode "cluster" with replicas)' });
    }
    if (topology.mode === 'cluster' && topology.replicas < 1) {
      context.addIssue({ code: 'custom', path: ['replicas'], message: 'a cluster needs 1 to 5 replicas' });
    }
  });

const parametersSchema = z
  .record(z.string(), z.union([z.string().max(64), z.number()]))
  .superRefine((parameters, context) => {
    for (const [name, value] of Object.entries(parameters)) {
      if (!isParameterName(name)) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: `is not a setting a plan may change; these are: ${PARAMETER_NAMES.join(', ')}`,
        });
        continue;
      }
      try {
        normaliseParameter(name, String(value));
      } catch (error) {
        context.addIssue({ code: 'custom', path: [name], message: (error as Error).message });
      }
    }
  })
  .transform((parameters) =>
    Object.fromEntries(
      Object.entries(parameters)
        .filter(([name]) => isParameterName(name))
        .map(([name, value]) => [name, normaliseParameter(name as ParameterName, String(value))]),
    ),
  );

const dbSchema = z
  .strictObject({
    engine: z.literal('postgres').default('postgres'),
    version: z.enum(pgVersions, { error: `must be one of ${pgVersions.join(', ')}` }).default(DEFAULT_PG_VERSION),
    maxConnections: z.int().min(5).max(10_000).default(100),
    workload: z.enum(workloads).default('web'),
    dataSize: z.enum(dataSizes).default('mid_ram'),
    databaseName: sqlIdentifier.default('app'),
    username: sqlIdentifier.default('app'),
    topology: topologySchema.prefault({}),
    backup: backupSchema.prefault({}),
    /** PostgreSQL settings of the plan's own, over pgtune's (postgres/parameters.ts lists which, and their bounds). */
    parameters: parametersSchema.optional(),
    /** Databases beside the application's, owned by the application role (postgres/access.ts). Never dropped by CloudSeed. */
    databases: z
      .array(sqlIdentifier)
      .max(MAX_DATABASES, `may name at most ${MAX_DATABASES} databases`)
      .refine((names) => new Set(names).size === names.length, 'must not repeat a database')
      .optional(),
    /** Login roles beside the application's: each reads (readonly) or reads and writes rows (readwrite) in every database of the plan. */
    roles: z
      .array(z.strictObject({ name: roleName, access: z.enum(ROLE_ACCESS, { error: 'must be readonly or readwrite' }).default('readonly') }))
      .max(MAX_ROLES, `may name at most ${MAX_ROLES} roles`)
      .refine((roles) => new Set(roles.map((role) => role.name)).size === roles.length, 'must not repeat a role')
      .optional(),
  })
  .superRefine((db, context) => {
    (db.databases ?? []).forEach((name, index) => {
      if (name === db.databaseName) context.addIssue({ code: 'custom', path: ['databases', index], message: 'is the application database already' });
    });
    (db.roles ?? []).forEach((role, index) => {
      if (role.name === db.username) context.addIssue({ code: 'custom', path: ['roles', index, 'name'], message: 'is the application role already' });
    });
    if ((db.roles ?? []).length > 0 && Number(db.version) < ROLES_MIN_MAJOR)
      context.addIssue({ code: 'custom', path: ['roles'], message: `need PostgreSQL ${ROLES_MIN_MAJOR} or later (its predefined data roles)` });
  });

const networkSchema = z.strictObject({
  allowedCidrs: z
    .array(cidr)
    .max(50)
    .default([])
    .refine((cidrs) => new Set(cidrs).size === cidrs.length, 'must not repeat a CIDR'),
});

// Components are told apart by `type`: each kind is one member schema (and one normaliser in
// validate.ts), so a new kind joins the union without touching the others.

const postgresComponentSchema = z.strictObject({
  id: componentId,
  type: z.literal('postgres'),
  position: positionSchema.default({ x: 80, y: 80 }),
  os: osSchema.default({ name: 'amazon-linux', version: '2023' }),
  hardware: hardwareSchema.prefault({}),
  db: dbSchema.prefault({}),
  network: networkSchema.prefault({}),
});

const appComponentSchema = z.strictObject({
  id: componentId,
  position: positionSchema.default({ x: 80, y: 80 }),
  ...appComponentFields,
});

const componentMembers = [postgresComponentSchema, appComponentSchema] as const;
const componentKinds = componentMembers.map((member) => `"${member.shape.type.value}"`);

export const componentSchema = z.discriminatedUnion('type', componentMembers, {
  // A missing or unknown `type` matches no member; every other problem is the member's own.
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `must be ${componentKinds.join(' or ')} (${componentKinds.length === 1 ? 'the only component type' : 'the component types'} in cs/v1)`
      : undefined,
});

export const planSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  name: planName,
  target: targetSchema.default({ cloud: 'local' }),
  components: z.array(componentSchema).min(1, 'a plan needs at least one component').max(20, 'a plan holds at most 20 components'),
});

export type PlanInput = z.input<typeof planSchema>;
type ParsedPlan = z.output<typeof planSchema>;
/** A component of any kind as parsed: defaults filled, not yet normalised. */
export type ParsedComponent = z.output<typeof componentSchema>;
/** A postgres component as parsed: every field with a default is written out; its size may still be open. */
export type ParsedPostgresComponent = z.output<typeof postgresComponentSchema>;

/** A postgres component after normalisation: its size is always known. */
export type PostgresComponent = Omit<ParsedPostgresComponent, 'hardware'> & {
  hardware: ParsedPostgresComponent['hardware'] & { cpus: number; memoryGiB: number };
};
/** An app component as parsed and normalised (nothing of it is derived). */
export type AppComponent = z.output<typeof appComponentSchema>;
/** A component of any kind after normalisation, told apart by `type`. */
export type Component = PostgresComponent | AppComponent;
/** A validated, normalised cs-json document: every default filled, every cross-field rule met. */
export type Plan = Omit<ParsedPlan, 'components'> & { components: Component[] };
export type Target = Plan['target'];
