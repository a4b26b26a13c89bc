import { accessSql } from '../../postgres/access.ts';
import { readFileSync } from 'node:fs';
import { DATABASE_SAMPLE_SQL } from '../../metrics/database-sample.ts';
import { renderNodeScript, SCRIPT_FOLDER } from '../node-scripts.ts';
import type { ShellValues } from '../node-scripts.ts';
import type { OsImage } from '../../postgres/os.ts';
import type { PostgresComponent } from '../../cs-json/schema.ts';
import { GENERATED_PASSWORD_PATTERN, PINNED_SEARCH_PATH_OPTIONS, SCRAM_VERIFIER_PYTHON } from '../../postgres/admin-session.ts';
import { APPS_MARKER, REPLICATION_MARKER, REPLICATION_USER, renderPgHba, renderPgIdent, renderPostgresqlConf } from '../../postgres/config.ts';
import type { ServerLayout } from '../../postgres/config.ts';
import { archiveSettings, HEARTBEAT_SQL, HEARTBEAT_SECONDS, renderPgbackrestConf, repoPathFor } from '../../postgres/pgbackrest.ts';
import type { AzureRepository, GcsRepository } from '../../postgres/pgbackrest.ts';
import type { ScriptCloud } from '../node-scripts.ts';
import { dcsConfig, HA_TIMING, memberRestartChecks, REWIND_GRANTS, REWIND_USER } from '../../postgres/patroni.ts';
import { planNodes } from '../../postgres/nodes.ts';
import { BACKUP_BUCKET_PREFIX } from './account.ts';
import {
  awsEtcdArguments,
  ETCD_CLIENT_PORT,
  ETCD_DATA_DIR,
  ETCD_PEER_PORT,
  etcdHostToken,
  PATRONI_CONFIG_FILE,
  PATRONI_DIR,
  PATRONI_REST_PORT,
  PATRONI_REST_USER,
  PATRONI_TOKENS,
  patroniScope,
  patroniServerLayout,
  renderAwsPatroniConfig,
  usesPatroni,
} from './patroni.ts';

// The node scripts as AWS runs them: SSM Run Command executes them as root on an instance, with
// sh/prelude-aws.sh (SSM Parameter Store, S3, the instance metadata service) in front of the files
// every cloud shares (../node-scripts.ts).

/** The CloudWatch namespace every node publishes its metrics to; its role may put metric data here only. */
export const METRICS_NAMESPACE = 'CloudSeed/PostgreSQL';
/** How often a node's collector samples and publishes (CloudWatch's standard resolution). */
export const METRICS_INTERVAL_SECONDS = 60;
/** Elsewhere, the folder under the component's backup prefix where its nodes store their metrics. */
export const METRICS_FOLDER = 'metrics/';
/** Elsewhere, how many hours of a node's hourly metrics files are kept, on the node and in storage: a day, and the hour under way. */
export const METRICS_RETENTION_HOURS = 25;
/** Where a node elsewhere keeps its hourly metrics files. */
const METRICS_DIR = '/var/lib/cloudseed/metrics';
/** Where configure.sh installs the collector. */
const COLLECTOR_PATH = '/usr/local/lib/cloudseed/collect-metrics.py';

/** The key of a node's metrics for the UTC hour that starts at `hourStart` (epoch seconds), as publish-metrics.sh stores it. */
export function metricsObjectKey(prefix: string, instance: string, hourStart: number): string {
  return `${prefix}${instance}/${new Date(hourStart * 1000).toISOString().slice(0, 13)}.jsonl`;
}

const base64Json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');
/** The collector program (sh/collect-metrics.py) configure.sh installs and a systemd timer runs. */
const COLLECTOR_PY = readFileSync(new URL('collect-metrics.py', SCRIPT_FOLDER), 'utf8');

export { renderNodeScript, SCRIPT_FOLDER, shellQuote } from '../node-scripts.ts';
export type { ShellValues } from '../node-scripts.ts';

/**
 * Where the install and configure scripts run when not on AWS: the cloud's prelude, the values it
 * reads from the header (a GCP project, an Azure vault…), and the pgBackRest repository there.
 */
export interface NodeCloud {
  readonly cloud: Exclude<ScriptCloud, 'aws'>;
  readonly values: ShellValues;
  readonly repository: GcsRepository | AzureRepository;
  /** Where in that bucket (the header's ARCHIVE_BUCKET) the nodes store their metrics: the component's backup prefix + `metrics/`. */
  readonly metricsPrefix: string;
}

export interface ConfigureContext {
  readonly planId: string;
  readonly region: string;
  /** Another cloud than AWS; AWS when absent. */
  readonly elsewhere?: NodeCloud;
  /** SecureString parameter that holds the application role's password. */
  readonly passwordParameter: string;
  /** SecureString parameter that holds the replication role's password (clusters only). */
  readonly replicationPasswordParameter?: string;
  /**
   * Apps of the plan use this database: pg_hba admits the application role from the VPC's ranges.
   * Which hosts in it may connect at all is the security group's business (only the apps' groups).
   */
  readonly admitVpc?: boolean;
}

/** The script the metrics timer runs on a node elsewhere: the collector, then its hour's file to the bucket (sh/publish-metrics.sh). */
function renderMetricsPublisher({ cloud, values, metricsPrefix }: NodeCloud): string {
  const bucket = values['ARCHIVE_BUCKET'];
  if (typeof bucket !== 'string') throw new Error('the node cloud names no ARCHIVE_BUCKET for its metrics');
  return renderNodeScript(
    'metrics: the node and its server sampled, the hour of samples stored beside the backups.',
    {
      ...values,
      BUCKET: bucket,
      METRICS_PREFIX: metricsPrefix,
      METRICS_DIR,
      METRICS_RETENTION_HOURS: String(METRICS_RETENTION_HOURS),
      METRICS_COLLECTOR: COLLECTOR_PATH,
    },
    ['publish-metrics.sh'],
    cloud,
  );
}

export function configDir(image: OsImage, pgMajor: number): string {
  return image.packageManager === 'apt' ? `/etc/postgresql/${pgMajor}/main` : image.dataDir(pgMajor);
}

export function awsServerLayout(image: OsImage, pgMajor: number): ServerLayout {
  const dataDir = image.dataDir(pgMajor);
  return {
    listenAddresses: '*',
    port: 5432,
    sslCertFile: `${dataDir}/cloudseed-server.crt`,
    sslKeyFile: `${dataDir}/cloudseed-server.key`,
    logDirectory: image.packageManager === 'apt' ? '/var/log/postgresql' : 'log',
  };
}

/** The replication password lives beside the application role's: `/cloudseed/<plan>/<component>/replication-password`. */
export function replicationPasswordParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*$/, 'replication-password');
}

/** Patroni clusters: the rewind role's password, beside the replication password. */
export function rewindPasswordParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*$/, 'rewind-password');
}

/** Patroni clusters: the password of Patroni's REST API (switchover, restart), beside the others. */
export function patroniPasswordParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*$/, 'patroni-password');
}

/** The server layout of a node: a Patroni cluster's keeps the certificate outside the data directory. */
export function nodeServerLayout(component: PostgresComponent, image: OsImage): ServerLayout {
  const layout = awsServerLayout(image, Number(component.db.version));
  return usesPatroni(component) ? patroniServerLayout(layout) : layout;
}

/** Where a node keeps the plan's CA certificate: outside the data directory, which a new replica's clone replaces. */
export const CA_CERTIFICATE_FILE = '/etc/cloudseed/ca.crt';

/** The plan's certificate authority (certificate and key, SecureString): `/cloudseed/<plan>/certificate-authority`. */
export function certificateAuthorityParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*\/[^/]*$/, 'certificate-authority');
}

/**
 * The passphrase the plan component's pgBackRest repository is encrypted with (SecureString, beside
 * the password): `/cloudseed/<plan>/<component>/archive-cipher-pass`.
 */
export function archiveCipherParameterFor(passwordParameter: string): string {
  return passwordParameter.replace(/[^/]*$/, 'archive-cipher-pass');
}

/** Every node's own pgBackRest configuration: the path PostgreSQL's archive_command names. */
export const ARCHIVE_CONFIG_FILE = '/etc/pgbackrest/pgbackrest.conf';
/** Where the node's pgBackRest keeps its asynchronous archiving queue, its logs and its locks. */
export const ARCHIVE_PATHS = { spool: '/var/spool/pgbackrest', log: '/var/log/pgbackrest', lock: '/tmp/pgbackrest' } as const;
/**
 * What configure.sh replaces on the node: the bucket (named after the account, which only the
 * instance knows, see archiveRepository) and the passphrase (read from Parameter Store there, so it
 * never travels in a command).
 */
export const ARCHIVE_BUCKET_TOKEN = '@bucket@';
export const ARCHIVE_CIPHER_TOKEN = '@cipher-pass@';

/**
 * The node's pgbackrest.conf with the two tokens above in it. The repository is the account's
 * backup bucket, taken to be in the plan's region: the instance fills in its account id, and the
 * instance role's credentials sign (key type auto). The stanza is the component.
 */
export function renderAwsPgbackrestConf(
  component: PostgresComponent,
  image: OsImage,
  context: Pick<ConfigureContext, 'planId' | 'region' | 'elsewhere'>,
): string {
  const major = Number(component.db.version);
  return renderPgbackrestConf({
    stanza: component.id,
    repoPath: repoPathFor(context.planId),
    repository: context.elsewhere?.repository ?? {
      bucket: ARCHIVE_BUCKET_TOKEN,
      endpoint: `s3.${context.region}.amazonaws.com`,
      region: context.region,
      keyType: 'auto',
      uriStyle: 'host',
      cipherPass: ARCHIVE_CIPHER_TOKEN,
    },
    dataDir: image.dataDir(major),
    port: awsServerLayout(image, major).port,
    socketDir: '/run/postgresql',
    spoolPath: ARCHIVE_PATHS.spool,
    logPath: ARCHIVE_PATHS.log,
    lockPath: ARCHIVE_PATHS.lock,
    retentionDays: component.db.backup.retentionDays,
    // Backups and restores share the instance with the database: at most half its CPUs, at most 4.
    processMax: Math.min(4, Math.max(1, Math.floor(component.hardware.cpus / 2))),
  });
}

/**
 * postgresql.conf on AWS: the plan's settings, then continuous archiving through the node's own
 * pgBackRest config. Every node archives with archive_mode=on: a replica starts archiving only once
 * it is promoted.
 */
export function renderAwsPostgresqlConf(component: PostgresComponent, image: OsImage): string {
  const archive = Object.entries(archiveSettings(ARCHIVE_CONFIG_FILE, component.id)).map(([name, value]) => `${name} = ${value}`);
  return [
    renderPostgresqlConf(component, nodeServerLayout(component, image)).trimEnd(),
    '',
    '# --- CloudSeed continuous archiving: pgBackRest, WAL to the repository at least every minute',
    ...archive,
    '',
  ].join('\n');
}

/** The instance's own address for TLS self-checks. */
export const INSTANCE_LOOPBACK = ['127.0.0.1/32'] as const;

/** Patroni and etcd as each OS packages them (Amazon Linux 2023: the PostgreSQL project's RHEL 9 builds). */
function haPackages(image: OsImage): string[] {
  return image.packageManager === 'dnf' ? ['patroni', 'patroni-etcd', 'etcd'] : ['patroni', 'python3-etcd', 'etcd-server'];
}

/** Where a node's data disk is mounted, on the clouds that give PostgreSQL a disk of its own (sh/data-disk.sh). */
export const DATA_MOUNT = '/var/lib/postgresql';

export function renderInstallScript(component: PostgresComponent, image: OsImage, cloud: ScriptCloud = 'aws'): string {
  const major = Number(component.db.version);
  const patroni = usesPatroni(component);
  // pgBackRest signs for Azure Blob Storage with a managed identity from 2.58 on: the PostgreSQL
  // project's repository carries it, the distributions' do not yet.
  const pgdg = image.needsPgdg(major) || (cloud === 'azure' && image.packageManager === 'apt');
  return renderNodeScript(
    `install: PostgreSQL ${major} on ${image.label}${patroni ? ', with Patroni and etcd' : ''}.`,
    {
      PG_MAJOR: String(major),
      OS_NAME: image.name,
      PACKAGE_MANAGER: image.packageManager,
      PACKAGES: image.packages(major),
      PGDG: pgdg ? 'yes' : '',
      DATA_DIR: image.dataDir(major),
      SERVICE: image.serviceName(major),
      HA_PACKAGES: patroni ? haPackages(image) : [],
      DATA_MOUNT: DATA_MOUNT,
    },
    ['data-disk.sh', 'install.sh'],
    cloud,
  );
}

/**
 * Configures a node. Clusters run the same script on every node; the provider says which node it
 * is through CLOUDSEED_NODE_ROLE (primary | replica), CLOUDSEED_PRIMARY_HOST (replicas) and
 * CLOUDSEED_REPLICA_HOSTS (primary; space-separated), known only once the instances run.
 */
export function renderConfigureScript(component: PostgresComponent, image: OsImage, context: ConfigureContext): string {
  const major = Number(component.db.version);
  const clustered = component.db.topology.mode === 'cluster';
  const patroni = usesPatroni(component);
  const layout = nodeServerLayout(component, image);
  return renderNodeScript(
    'configure: the server from the plan: tuning, TLS, pg_hba, the application role and database.',
    {
      PG_BIN: image.binDir(major),
      DATA_DIR: image.dataDir(major),
      CONF_DIR: configDir(image, major),
      SERVICE: image.serviceName(major),
      // What the prelude reads: on AWS the region (and the bucket prefix below), elsewhere the cloud's own values.
      ...(context.elsewhere?.values ?? { REGION: context.region }),
      PASSWORD_PARAMETER: context.passwordParameter,
      CA_PARAMETER: certificateAuthorityParameterFor(context.passwordParameter),
      CA_CERT: CA_CERTIFICATE_FILE,
      DB_NAME: component.db.databaseName,
      DB_USER: component.db.username,
      // The plan's other databases and roles, made by the primary after the application role.
      ACCESS_SQL: accessSql(component).trimEnd(),
      PGOPTIONS: PINNED_SEARCH_PATH_OPTIONS,
      PASSWORD_SHAPE: GENERATED_PASSWORD_PATTERN,
      SCRAM_VERIFIER_PY: SCRAM_VERIFIER_PYTHON,
      POSTGRESQL_CONF: renderAwsPostgresqlConf(component, image).trimEnd(),
      // The settings of POSTGRESQL_CONF that take effect only on a restart, as pg_settings shows them.
      MEMBER_RESTART: memberRestartChecks(component),
      // The instance checks itself over TLS from loopback (verify, health), so loopback is a client too.
      PG_HBA: renderPgHba(component, {
        extraCidrs: INSTANCE_LOOPBACK,
        replicationMarker: clustered,
        appsMarker: context.admitVpc === true,
      }).trimEnd(),
      SERVER_CERT: layout.sslCertFile,
      SERVER_KEY: layout.sslKeyFile,
      PG_IDENT: renderPgIdent(component).trimEnd(),
      INCLUDE_LINE: "include_if_exists = 'cloudseed.conf'",
      CLUSTERED: clustered ? 'yes' : '',
      ADMIT_VPC: context.admitVpc ? 'yes' : '',
      APPS_MARKER,
      STANZA: component.id,
      ARCHIVE_CONF: renderAwsPgbackrestConf(component, image, context).trimEnd(),
      ARCHIVE_CONF_FILE: ARCHIVE_CONFIG_FILE,
      ARCHIVE_DIRS: [ARCHIVE_PATHS.spool, ARCHIVE_PATHS.log, ARCHIVE_PATHS.lock],
      ...(context.elsewhere ? {} : { ARCHIVE_BUCKET_PREFIX: BACKUP_BUCKET_PREFIX }),
      ARCHIVE_BUCKET_TOKEN,
      ARCHIVE_CIPHER_TOKEN,
      CIPHER_PARAMETER: archiveCipherParameterFor(context.passwordParameter),
      HEARTBEAT_SQL,
      HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      // Metrics: the collector, what it reads, where it sends the values, and how often it runs.
      METRICS_COLLECTOR_BASE64: Buffer.from(COLLECTOR_PY).toString('base64'),
      METRICS_CONFIG_BASE64: base64Json({
        psql: `${image.binDir(major)}/psql`,
        dataDir: image.dataDir(major),
        sampleSql: DATABASE_SAMPLE_SQL.trim(),
        ...(context.elsewhere ? { sink: 'hourly', dir: METRICS_DIR } : { sink: 'cloudwatch', region: context.region, namespace: METRICS_NAMESPACE }),
      }),
      // Elsewhere the timer runs the collector through publish-metrics.sh, which stores its hour's file.
      ...(context.elsewhere ? { METRICS_PUBLISHER_BASE64: Buffer.from(renderMetricsPublisher(context.elsewhere)).toString('base64') } : {}),
      METRICS_SECONDS: String(METRICS_INTERVAL_SECONDS),
      ...(clustered
        ? {
            REPLICATION_USER,
            REPLICATION_PASSWORD_PARAMETER: context.replicationPasswordParameter ?? replicationPasswordParameterFor(context.passwordParameter),
            REPLICATION_MARKER,
          }
        : {}),
      PATRONI: patroni ? 'yes' : '',
      ...(patroni ? patroniValues(component, image, context) : {}),
    },
    patroni ? ['data-disk.sh', 'patroni.sh', 'configure.sh'] : ['data-disk.sh', 'configure.sh'],
    context.elsewhere?.cloud,
  );
}

/**
 * Every secret the node scripts of a component read, by the path they name it with (AWS keeps
 * these paths; GCP's and Azure's preludes name them with '-' for '/', see secretIdFor): the
 * application role's password, the plan's certificate authority, the repository passphrase, and a
 * cluster's replication (and Patroni's REST and rewind) passwords.
 */
export function nodeSecretPaths(component: PostgresComponent, passwordParameter: string): string[] {
  const clustered = component.db.topology.mode === 'cluster';
  return [
    passwordParameter,
    certificateAuthorityParameterFor(passwordParameter),
    archiveCipherParameterFor(passwordParameter),
    ...(clustered ? [replicationPasswordParameterFor(passwordParameter)] : []),
    ...(usesPatroni(component) ? [patroniPasswordParameterFor(passwordParameter), rewindPasswordParameterFor(passwordParameter)] : []),
  ];
}

/** What configure.sh needs to run a node under Patroni: its files with their tokens, and where the secrets are. */
function patroniValues(component: PostgresComponent, image: OsImage, context: ConfigureContext): ShellValues {
  const names = planNodes(component).map((node) => node.name);
  const scope = patroniScope(context.planId, component.id);
  const [etcd0 = [], etcd1 = [], etcd2 = []] = awsEtcdArguments(scope, names);
  return {
    PATRONI_DIR,
    PATRONI_CONFIG_FILE,
    PATRONI_YML: renderAwsPatroniConfig(component, image, nodeServerLayout(component, image), scope, names).trimEnd(),
    PATRONI_REST_PORT: String(PATRONI_REST_PORT),
    PATRONI_REST_USER,
    PATRONI_TTL: String(HA_TIMING.ttl),
    PATRONI_DCS: JSON.stringify(dcsConfig(component, nodeServerLayout(component, image))),
    REST_PASSWORD_PARAMETER: patroniPasswordParameterFor(context.passwordParameter),
    REWIND_USER,
    REWIND_PASSWORD_PARAMETER: rewindPasswordParameterFor(context.passwordParameter),
    REWIND_GRANTS: [...REWIND_GRANTS],
    ETCD_DATA_DIR,
    ETCD_CLIENT_PORT: String(ETCD_CLIENT_PORT),
    ETCD_PEER_PORT: String(ETCD_PEER_PORT),
    ETCD_ARGS_0: etcd0,
    ETCD_ARGS_1: etcd1,
    ETCD_ARGS_2: etcd2,
    TOKEN_NODE_NAME: PATRONI_TOKENS.nodeName,
    TOKEN_NODE_IP: PATRONI_TOKENS.nodeIp,
    TOKEN_REPLICATION_PASSWORD: PATRONI_TOKENS.replicationPassword,
    TOKEN_REWIND_PASSWORD: PATRONI_TOKENS.rewindPassword,
    TOKEN_REST_PASSWORD: PATRONI_TOKENS.restApiPassword,
    TOKEN_ETCD_HOSTS: [0, 1, 2].map(etcdHostToken),
  };
}
