import { isParameterName, parameterSettings, PARAMETERS } from './parameters.ts';
import { parseMemory } from './units.ts';
import type { PostgresComponent } from '../cs-json/schema.ts';
import { productionSettings, REPLICATION_USER, REWIND_USER, tuneComponent } from './config.ts';

export { REWIND_USER } from './config.ts';
import type { ServerLayout } from './config.ts';

// High availability for a cluster: Patroni manages every PostgreSQL node of it and keeps the
// leader lock in a three-member etcd. The same configuration runs on EC2 and on the local cloud;
// only addresses, paths and the watchdog differ.

/** How fast a failover comes: the leader lock lives `ttl` seconds; Patroni's loop runs every `loopWait`. */
export const HA_TIMING = { ttl: 20, loopWait: 5, retryTimeout: 5 } as const;
/** A replica further behind than this (bytes of WAL) is never promoted: it would lose too much. */
export const MAXIMUM_LAG_ON_FAILOVER = 1024 * 1024;
/** etcd's members per cluster: a majority of three survives the loss of any one. */
export const ETCD_MEMBERS = 3;
/** Where a cluster's keys live in etcd. */
export const DCS_NAMESPACE = '/cloudseed/';

/**
 * etcd v3's `POST /v3/kv/deleterange` body that forgets one cluster: every key under the namespace
 * and its scope (leader, members, config, initialize…). Patroni is stopped on every member first;
 * the restored leader's Patroni then forms the cluster anew.
 */
export function forgetClusterRequest(scope: string): { readonly key: string; readonly range_end: string } {
  const prefix = `${DCS_NAMESPACE}${scope}/`;
  // The end of the range is the prefix with its last byte one higher: every key that starts with it.
  const rangeEnd = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
  return { key: btoa(prefix), range_end: btoa(rangeEnd) };
}

/**
 * Settings every member must hold alike (Patroni keeps them in etcd and puts them on the postgres
 * command line, where they override postgresql.conf); the rest of the configuration is each node's.
 */
const CLUSTER_WIDE = [
  'max_connections',
  'max_locks_per_transaction',
  'max_worker_processes',
  'max_prepared_transactions',
  'wal_level',
  'max_wal_senders',
  'max_replication_slots',
  'wal_keep_size',
  'track_commit_timestamp',
  'wal_log_hints',
] as const;

/** The cluster-wide settings a server takes only when it restarts. */
export const RESTART_SETTINGS = CLUSTER_WIDE.filter((name) => name !== 'wal_keep_size');

/** Grants that let REWIND_USER run pg_rewind against a leader (PostgreSQL's documented minimum). */
export const REWIND_GRANTS = [
  'pg_catalog.pg_ls_dir(text, boolean, boolean)',
  'pg_catalog.pg_stat_file(text, boolean)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
] as const;

/** An address Patroni, etcd or PostgreSQL listens on. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface EtcdMember {
  readonly name: string;
  readonly client: HostPort;
  readonly peer: HostPort;
}

/** One member's place in the cluster: where it listens and where its files are. */
export interface PatroniMember {
  /** Patroni's member name: the node's name (`db-1`). */
  readonly name: string;
  /** Patroni's scope: the cluster's name in etcd, one per plan and component. */
  readonly scope: string;
  readonly postgres: HostPort;
  /** Addresses PostgreSQL listens on when not only `postgres.host` (EC2: `*`, so local checks reach it on loopback). */
  readonly postgresListen?: string;
  readonly restApi: HostPort;
  readonly etcd: readonly HostPort[];
  readonly dataDir: string;
  readonly binDir: string;
  /** The node's own postgresql.conf (CloudSeed's settings), outside the data directory so no clone or rewind replaces it. */
  readonly configFile: string;
  readonly hbaFile: string;
  readonly identFile: string;
  /** Patroni's passfile for the replication and rewind logins. */
  readonly pgpassFile: string;
  /** The plan's CA certificate: replicas and pg_rewind verify the leader with it. */
  readonly caFile: string;
  readonly layout: ServerLayout;
  readonly watchdog: 'off' | 'required';
  /** Who may call Patroni's unsafe REST endpoints (switchover, restart, config). */
  readonly restApiUser: { readonly username: string; readonly password: string };
  readonly replicationPassword: string;
  readonly rewindPassword: string;
}

/** The cluster-wide settings Patroni keeps in etcd: from the plan's tuning, as Patroni wants them (unquoted). */
export function clusterWideSettings(component: PostgresComponent, layout: ServerLayout): Record<string, string> {
  const all = { ...tuneComponent(component).settings, ...productionSettings(component, layout), ...parameterSettings(component.db.parameters) };
  const settings: Record<string, string> = { wal_log_hints: 'on' };
  for (const name of CLUSTER_WIDE) {
    const value = all[name];
    if (value !== undefined) settings[name] = unquote(value);
  }
  return settings;
}

/**
 * The settings of each member's own configuration that take effect only on a restart (the plan's
 * shared_buffers, or pgtune's), in kB: a member whose server runs with another value is restarted.
 * They are not cluster-wide: each member holds them alike because each renders the same plan.
 */
export function memberRestartSettings(component: PostgresComponent): Record<string, number> {
  const all: Record<string, string> = { ...tuneComponent(component).settings, ...parameterSettings(component.db.parameters) };
  const settings: Record<string, number> = {};
  for (const [name, value] of Object.entries(all)) {
    if (!isParameterName(name) || PARAMETERS[name].apply !== 'restart' || PARAMETERS[name].kind !== 'memory') continue;
    if ((CLUSTER_WIDE as readonly string[]).includes(name)) continue;
    settings[name] = parseMemory(unquote(value));
  }
  return settings;
}

/** The unit pg_settings counts a memory setting in, in kB, where it is not kB (shared_buffers: 8kB pages). */
const SETTING_UNIT_KB: Readonly<Record<string, number>> = { shared_buffers: 8 };

/** memberRestartSettings as `name=value`, the value as pg_settings.setting shows it once the server runs with it. */
export function memberRestartChecks(component: PostgresComponent): string[] {
  return Object.entries(memberRestartSettings(component)).map(([name, kb]) => `${name}=${Math.round(kb / (SETTING_UNIT_KB[name] ?? 1))}`);
}

/** The DCS section: the timing, lag limit, rewind, slots, failsafe and synchronous mode a cluster runs with. */
export function dcsConfig(component: PostgresComponent, layout: ServerLayout): Record<string, unknown> {
  const synchronous = component.db.topology.synchronous;
  return {
    ttl: HA_TIMING.ttl,
    loop_wait: HA_TIMING.loopWait,
    retry_timeout: HA_TIMING.retryTimeout,
    maximum_lag_on_failover: MAXIMUM_LAG_ON_FAILOVER,
    failsafe_mode: true,
    synchronous_mode: synchronous,
    // With one replica, strict mode would stop writes whenever that replica is down: not a trade a customer asked for.
    synchronous_mode_strict: false,
    postgresql: {
      use_pg_rewind: true,
      use_slots: true,
      parameters: clusterWideSettings(component, layout),
    },
  };
}

/**
 * patroni.yml for one member. JSON is YAML, so the file is written without a YAML library; a
 * comment line heads it.
 */
export function renderPatroniConfig(component: PostgresComponent, member: PatroniMember): string {
  const tls = { sslmode: 'verify-full', sslrootcert: member.caFile };
  const config = {
    scope: member.scope,
    namespace: DCS_NAMESPACE,
    name: member.name,
    restapi: {
      listen: hostPort(member.restApi),
      connect_address: hostPort(member.restApi),
      authentication: member.restApiUser,
    },
    etcd3: { hosts: member.etcd.map(hostPort) },
    bootstrap: { dcs: dcsConfig(component, member.layout) },
    postgresql: {
      listen: member.postgresListen === undefined ? hostPort(member.postgres) : `${member.postgresListen}:${member.postgres.port}`,
      connect_address: hostPort(member.postgres),
      data_dir: member.dataDir,
      bin_dir: member.binDir,
      custom_conf: member.configFile,
      pgpass: member.pgpassFile,
      use_unix_socket: member.layout.unixSocketDirectory !== undefined,
      parameters: {
        hba_file: member.hbaFile,
        ident_file: member.identFile,
        ...(member.layout.unixSocketDirectory === undefined ? {} : { unix_socket_directories: member.layout.unixSocketDirectory }),
      },
      authentication: {
        superuser: { username: 'postgres' },
        replication: { username: REPLICATION_USER, password: member.replicationPassword, ...tls },
        rewind: { username: REWIND_USER, password: member.rewindPassword, ...tls },
      },
      basebackup: [{ checkpoint: 'fast' }],
      remove_data_directory_on_rewind_failure: true,
      remove_data_directory_on_diverged_timelines: true,
    },
    watchdog: { mode: member.watchdog },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  return `# Written by CloudSeed for ${member.scope}/${member.name}. Replaced on the next deploy; change the plan instead.\n${JSON.stringify(config, null, 2)}\n`;
}

/** etcd's command line for one member of a cluster's three. */
export function etcdArguments(scope: string, member: EtcdMember, members: readonly EtcdMember[], dataDir: string): string[] {
  const url = (address: HostPort) => `http://${hostPort(address)}`;
  return [
    `--name=${member.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url(member.client)}`,
    `--advertise-client-urls=${url(member.client)}`,
    `--listen-peer-urls=${url(member.peer)}`,
    `--initial-advertise-peer-urls=${url(member.peer)}`,
    `--initial-cluster=${members.map((each) => `${each.name}=${url(each.peer)}`).join(',')}`,
    `--initial-cluster-token=${scope}`,
    '--initial-cluster-state=new',
    '--logger=zap',
    '--log-outputs=stderr',
  ];
}

// --- what Patroni says ------------------------------------------------------------------------------

export type MemberRole = 'leader' | 'replica' | 'sync_standby' | 'standby_leader';

export interface ClusterMember {
  readonly name: string;
  readonly role: MemberRole;
  /** Patroni's state: running, streaming, starting, stopped, crashed, start failed… */
  readonly state: string;
  readonly host: string;
  readonly port: number;
  readonly timeline?: number;
  /** Bytes of WAL the member is behind the leader; undefined for the leader or when Patroni does not know. */
  readonly lagBytes?: number;
  readonly pendingRestart: boolean;
}

export interface ClusterState {
  readonly members: readonly ClusterMember[];
  readonly leader?: ClusterMember;
  readonly paused: boolean;
}

/** Patroni's member states in which the member serves: the leader runs, a replica streams (Patroni before 3.0.4 says running). */
export const isServing = (state: string): boolean => state === 'running' || state === 'streaming';

/** Patroni's GET /cluster answer, checked; anything else is refused with what was wrong. */
export function parseClusterState(body: unknown): ClusterState {
  if (!isRecord(body) || !Array.isArray(body.members)) throw new Error('Patroni /cluster answer has no members list');
  const members = body.members.map((entry: unknown): ClusterMember => {
    if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.role !== 'string' || typeof entry.state !== 'string') {
      throw new Error(`Patroni /cluster member is malformed: ${JSON.stringify(entry)}`);
    }
    const role = entry.role === 'master' ? 'leader' : entry.role;
    if (!['leader', 'replica', 'sync_standby', 'standby_leader'].includes(role))
      throw new Error(`Patroni member ${entry.name} has an unknown role ${role}`);
    return {
      name: entry.name,
      role: role as MemberRole,
      state: entry.state,
      host: typeof entry.host === 'string' ? entry.host : '',
      port: typeof entry.port === 'number' ? entry.port : 0,
      ...(typeof entry.timeline === 'number' ? { timeline: entry.timeline } : {}),
      ...(typeof entry.lag === 'number' ? { lagBytes: entry.lag } : {}),
      pendingRestart: entry.pending_restart === true,
    };
  });
  const leader = members.find((member) => member.role === 'leader' && member.state === 'running');
  return { members, ...(leader ? { leader } : {}), paused: body.pause === true };
}

const hostPort = (address: HostPort): string => `${address.host}:${address.port}`;
const unquote = (value: string): string => (/^'.*'$/s.test(value) ? value.slice(1, -1).replaceAll("''", "'") : value);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
