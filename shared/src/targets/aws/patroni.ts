import type { PostgresComponent } from '../../cs-json/schema.ts';
import type { ServerLayout } from '../../postgres/config.ts';
import type { OsImage } from '../../postgres/os.ts';
import { ETCD_MEMBERS, etcdArguments, renderPatroniConfig } from '../../postgres/patroni.ts';
import type { EtcdMember } from '../../postgres/patroni.ts';

// High availability on EC2: Patroni on every node of a cluster of three or more, and an etcd member
// on each of its first three nodes. What only the instance knows (its name, its private address,
// its peers' addresses) and what may never travel in a command (passwords) are tokens in the
// rendered files; configure.sh replaces them on the node, the way it fills in pgbackrest.conf.

/** Patroni's REST API, on the node's private address; the security group opens it to the cluster's members only. */
export const PATRONI_REST_PORT = 8008;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** A cluster runs Patroni when its own nodes can hold an etcd majority: three of them. */
export const PATRONI_MIN_NODES = ETCD_MEMBERS;
/** The login of Patroni's REST API for its unsafe endpoints (switchover, restart, config). */
export const PATRONI_REST_USER = 'cloudseed';
/** Where a node keeps Patroni's files: its configuration, PostgreSQL's, the passfile and the server certificate. */
export const PATRONI_DIR = '/etc/cloudseed/patroni';
export const PATRONI_CONFIG_FILE = `${PATRONI_DIR}/patroni.yml`;
export const ETCD_DATA_DIR = '/var/lib/etcd/cloudseed';

export const PATRONI_TOKENS = {
  nodeName: '@node-name@',
  nodeIp: '@node-ip@',
  replicationPassword: '@replication-password@',
  rewindPassword: '@rewind-password@',
  restApiPassword: '@rest-api-password@',
} as const;

/** The token for the private address of the node that runs etcd member `index` (0, 1 or 2). */
export const etcdHostToken = (index: number): string => `@etcd-${index}@`;

/** Patroni's scope: one per plan and component, as on the local cloud. */
export const patroniScope = (planId: string, componentId: string): string => `${planId}-${componentId}`;

export function usesPatroni(component: PostgresComponent): boolean {
  return component.db.topology.mode === 'cluster' && component.db.topology.replicas + 1 >= PATRONI_MIN_NODES;
}

/**
 * PostgreSQL's layout under Patroni: the server certificate outside the data directory (Patroni's
 * clone of the leader would otherwise bring the leader's certificate to every replica), and the
 * local socket Patroni talks to the server through.
 */
export function patroniServerLayout(base: ServerLayout): ServerLayout {
  return { ...base, sslCertFile: `${PATRONI_DIR}/server.crt`, sslKeyFile: `${PATRONI_DIR}/server.key`, unixSocketDirectory: '/run/postgresql' };
}

/** The etcd members, named after the cluster's first three nodes, with their addresses as tokens. */
function etcdMembers(nodeNames: readonly string[]): EtcdMember[] {
  return nodeNames.slice(0, ETCD_MEMBERS).map((name, index) => ({
    name,
    client: { host: etcdHostToken(index), port: ETCD_CLIENT_PORT },
    peer: { host: etcdHostToken(index), port: ETCD_PEER_PORT },
  }));
}

/** etcd's arguments for each of the three members, tokens in place of the addresses. */
export function awsEtcdArguments(scope: string, nodeNames: readonly string[]): string[][] {
  const members = etcdMembers(nodeNames);
  return members.map((member) => etcdArguments(scope, member, members, ETCD_DATA_DIR));
}

/** patroni.yml as every node of the cluster gets it, tokens in place of its name, addresses and passwords. */
export function renderAwsPatroniConfig(
  component: PostgresComponent,
  image: OsImage,
  layout: ServerLayout,
  scope: string,
  nodeNames: readonly string[],
): string {
  const major = Number(component.db.version);
  return renderPatroniConfig(component, {
    name: PATRONI_TOKENS.nodeName,
    scope,
    postgres: { host: PATRONI_TOKENS.nodeIp, port: layout.port },
    postgresListen: '*',
    restApi: { host: PATRONI_TOKENS.nodeIp, port: PATRONI_REST_PORT },
    etcd: etcdMembers(nodeNames).map((member) => member.client),
    dataDir: image.dataDir(major),
    binDir: image.binDir(major),
    configFile: `${PATRONI_DIR}/postgresql.conf`,
    hbaFile: `${PATRONI_DIR}/pg_hba.conf`,
    identFile: `${PATRONI_DIR}/pg_ident.conf`,
    pgpassFile: `${PATRONI_DIR}/pgpass`,
    caFile: '/etc/cloudseed/ca.crt',
    layout,
    // softdog reboots a node whose Patroni stops feeding it: a leader never keeps serving writes after losing its lock.
    watchdog: 'required',
    restApiUser: { username: PATRONI_REST_USER, password: PATRONI_TOKENS.restApiPassword },
    replicationPassword: PATRONI_TOKENS.replicationPassword,
    rewindPassword: PATRONI_TOKENS.rewindPassword,
  });
}
