import { databasesOf } from './access.ts';
import { parameterSettings } from './parameters.ts';
import { quoteLiteral } from './sql.ts';
import type { PostgresComponent } from '../cs-json/schema.ts';
import { archiveSettings } from './pgbackrest.ts';
import { tune } from './pgtune.ts';
import type { TuneResult } from './pgtune.ts';

// What a component's PostgreSQL server is told: pgtune's settings for its size and workload,
// then CloudSeed's production block. The same text is written on an EC2 instance and on a
// local-cloud server, only the paths and the listen address differ.

export type NodeRole = 'primary' | 'replica';

export interface ServerLayout {
  readonly listenAddresses: string;
  readonly port: number;
  readonly sslCertFile: string;
  readonly sslKeyFile: string;
  readonly logDirectory: string;
  /** Where the server's Unix socket lives; omitted to keep the distribution's default. */
  readonly unixSocketDirectory?: string;
  /** Continuous archiving through this instance's pgBackRest config, to the cluster's stanza. */
  readonly archive?: { readonly configFile: string; readonly stanza: string };
}

export const REPLICATION_USER = 'replicator';
export const ADMIN_USER = 'postgres';
/** The role pg_rewind logs in as when an old cluster leader rejoins (it needs only a few functions, not a superuser). */
export const REWIND_USER = 'cloudseed_rewind';

export function tuneComponent(component: PostgresComponent): TuneResult {
  return tune({
    pgMajor: Number(component.db.version),
    memoryKb: component.hardware.memoryGiB * 1024 * 1024,
    cpus: component.hardware.cpus,
    connections: component.db.maxConnections,
    workload: component.db.workload,
    storage: component.hardware.storage.type,
    dataSize: component.db.dataSize,
  });
}

export function productionSettings(component: PostgresComponent, layout: ServerLayout): Record<string, string> {
  const clustered = component.db.topology.mode === 'cluster';
  const settings: Record<string, string> = {
    listen_addresses: quoteLiteral(layout.listenAddresses),
    port: String(layout.port),
    ...(layout.unixSocketDirectory === undefined ? {} : { unix_socket_directories: quoteLiteral(layout.unixSocketDirectory) }),
    ssl: 'on',
    ssl_cert_file: quoteLiteral(layout.sslCertFile),
    ssl_key_file: quoteLiteral(layout.sslKeyFile),
    ssl_min_protocol_version: quoteLiteral('TLSv1.2'),
    password_encryption: 'scram-sha-256',
    logging_collector: 'on',
    log_directory: quoteLiteral(layout.logDirectory),
    log_filename: quoteLiteral('postgresql-%a.log'),
    log_truncate_on_rotation: 'on',
    log_rotation_age: '1d',
    log_line_prefix: quoteLiteral('%m [%p] %q%u@%d '),
    log_connections: 'on',
    log_disconnections: 'on',
    log_checkpoints: 'on',
    log_lock_waits: 'on',
    log_temp_files: '0',
    log_min_duration_statement: '1s',
    log_timezone: quoteLiteral('UTC'),
    shared_preload_libraries: quoteLiteral('pg_stat_statements'),
  };
  if (clustered) {
    // pgtune's desktop profile turns WAL shipping off; a cluster needs it whatever the workload.
    Object.assign(settings, {
      wal_level: 'replica',
      max_wal_senders: String(component.db.topology.replicas + 5),
      max_replication_slots: String(component.db.topology.replicas + 5),
      wal_keep_size: '1GB',
      hot_standby: 'on',
      hot_standby_feedback: 'on',
    });
  }
  if (layout.archive) Object.assign(settings, archiveSettings(layout.archive.configFile, layout.archive.stanza));
  return settings;
}

export function renderPostgresqlConf(component: PostgresComponent, layout: ServerLayout): string {
  const tuned = tuneComponent(component);
  const lines = [
    '# Written by CloudSeed. Changes here are replaced on the next deploy; change the plan instead.',
    '',
    `# --- pgtune: ${component.db.workload} workload, PostgreSQL ${component.db.version}, ${component.hardware.memoryGiB} GiB RAM,`,
    `# --- ${component.hardware.cpus} CPUs, ${component.hardware.storage.type} storage, max_connections from the plan`,
    ...settingLines(tuned.settings),
    ...tuned.warnings.map((warning) => `# note: ${warning}`),
    '',
    '# --- CloudSeed production settings: network, TLS, authentication, logging, replication',
    ...settingLines(productionSettings(component, layout)),
    '',
    ...(component.db.parameters && Object.keys(component.db.parameters).length > 0
      ? [
          '# --- Set in the plan (db.parameters); the last value of a setting is the one PostgreSQL takes',
          ...settingLines(parameterSettings(component.db.parameters)),
          '',
        ]
      : []),
  ];
  return lines.join('\n');
}

export interface HbaOptions {
  /** Networks that may connect in addition to the plan's allowedCidrs (the local cloud adds loopback). */
  readonly extraCidrs?: readonly string[];
  /** Networks the replicas connect from; replication is only allowed when given. */
  readonly replicationCidrs?: readonly string[];
  /** Networks a rejoining cluster member runs pg_rewind from (as REWIND_USER, to the postgres database). */
  readonly rewindCidrs?: readonly string[];
  /** Leaves a marker line where a script inserts the replicas' rules once their addresses are known. */
  readonly replicationMarker?: boolean;
  /** Leaves a marker line where a script inserts the rules for the plan's apps once it knows the VPC's ranges. */
  readonly appsMarker?: boolean;
}

export const REPLICATION_MARKER = '# @cloudseed-replication-rules@';
export const APPS_MARKER = '# @cloudseed-app-rules@';

/**
 * The pg_ident.conf map that lets the postgres OS user log in as the application role over the
 * local socket. Restores and validations load the tenant's data as that role, logged in as it: a
 * superuser session with SET ROLE would not do, since the tenant's code it runs (a CHECK constraint
 * during COPY) could RESET ROLE back to the superuser.
 */
export const OWNER_MAP = 'cloudseed-owner';

/** pg_hba.conf: TLS and SCRAM for every network client, peer for the local admin (and for it as the owner), nothing else. */
export function renderPgHba(component: PostgresComponent, options: HbaOptions = {}): string {
  const { username } = component.db;
  const clients = [...new Set([...component.network.allowedCidrs, ...(options.extraCidrs ?? [])])];
  // The application role and the plan's roles reach every database of the plan (postgres/access.ts).
  const databases = databasesOf(component).join(',');
  const roles = (component.db.roles ?? []).map((role) => role.name).join(',');
  const rows = [
    "# Written by CloudSeed from the plan's allowedCidrs. Changes here are replaced on the next deploy.",
    '# TYPE    DATABASE     USER          ADDRESS                  METHOD',
    row('local', 'all', ADMIN_USER, '', 'peer'),
    row('local', 'all', username, '', `peer map=${OWNER_MAP}`),
    ...clients.map((cidr) => row('hostssl', databases, username, cidr, 'scram-sha-256')),
    ...(roles ? clients.map((cidr) => row('hostssl', databases, roles, cidr, 'scram-sha-256')) : []),
    ...(options.replicationCidrs ?? []).map((cidr) => row('hostssl', 'replication', REPLICATION_USER, cidr, 'scram-sha-256')),
    ...(options.rewindCidrs ?? []).map((cidr) => row('hostssl', 'postgres', REWIND_USER, cidr, 'scram-sha-256')),
    ...(options.replicationMarker ? [REPLICATION_MARKER] : []),
    ...(options.appsMarker ? [APPS_MARKER] : []),
    row('host', 'all', 'all', '0.0.0.0/0', 'reject'),
    row('host', 'all', 'all', '::/0', 'reject'),
    '',
  ];
  return rows.join('\n');
}

/** pg_ident.conf: only the postgres OS user may log in as the application role over the socket. */
export function renderPgIdent(component: PostgresComponent): string {
  return [
    '# Written by CloudSeed: restores log in as the application role (see pg_hba.conf). Replaced on the next deploy.',
    '# MAPNAME         SYSTEM-USERNAME  PG-USERNAME',
    `${OWNER_MAP.padEnd(16)} postgres         ${component.db.username}`,
    '',
  ].join('\n');
}

function row(type: string, database: string, user: string, address: string, method: string): string {
  return [type.padEnd(8), database.padEnd(12), user.padEnd(13), address.padEnd(24), method].join(' ').replace(/ +$/, '');
}

function settingLines(settings: Record<string, string>): string[] {
  return Object.entries(settings).map(([name, value]) => `${name} = ${value}`);
}
