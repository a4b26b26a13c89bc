import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Where the local cloud keeps a deployment under CLOUDSEED_HOME:
//
//   instances/<planId>/<component>-<n>/     one server, 0711, owned by root
//     node.json                              its port and whether it should be running (root's)
//     data/                                  the cluster (initdb or pg_basebackup)   \
//     tls/server.crt, server.key, ca.crt     signed by the plan's CA, key 0600        > 0700, postgres'
//     log/, socket/                          server logs, Unix socket                /
//     pgbackrest/pgbackrest.conf, spool/...  the node's pgBackRest config (0600), its spool, logs, locks (postgres', 0700)
//     config/                                a cluster member's postgresql.conf, pg_hba.conf, pg_ident.conf, patroni.yml
//                                            and Patroni's passfile, outside data/ so no clone or rewind replaces them (postgres', 0700)
//     patroni.pid, patroni.log               a cluster member's Patroni (root's)
//   instances/<planId>/<component>-dcs/      a cluster's etcd (root's, 0711): dcs.json (members and ports),
//     member-<n>/ (postgres', 0700), member-<n>.pid, member-<n>.log
//   instances/<planId>/commands/<component>/ outcomes of install/configure commands
//   secrets/<planId>/<component>.password    0600, root-owned; .replication-password for clusters
//   secrets/<planId>/ca.pem                  the plan's certificate authority (certificate + key), 0600
//
// A node's directory is root's and the directories postgres owns sit right inside it, so postgres
// can change what is in them but never swap one of them for a symlink (files.ts relies on that).

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** The longest Unix socket path the kernel takes (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/** Ids come from the plan and the API; anything that could climb out of CLOUDSEED_HOME is refused. */
export function safeName(kind: string, value: string): string {
  if (!SAFE_NAME.test(value)) throw new Error(`${kind} ${JSON.stringify(value)} cannot name a local directory`);
  return value;
}

export const instancesRoot = (home: string): string => join(home, 'instances');
export const planInstancesDir = (home: string, planId: string): string => join(instancesRoot(home), safeName('plan id', planId));
export const commandsDir = (home: string, planId: string, componentId: string): string =>
  join(planInstancesDir(home, planId), 'commands', safeName('component id', componentId));
export const secretsRoot = (home: string): string => join(home, 'secrets');
export const planSecretsDir = (home: string, planId: string): string => join(secretsRoot(home), safeName('plan id', planId));
export const passwordFile = (home: string, planId: string, componentId: string): string =>
  join(planSecretsDir(home, planId), `${safeName('component id', componentId)}.password`);
export const replicationPasswordFile = (home: string, planId: string, componentId: string): string =>
  join(planSecretsDir(home, planId), `${safeName('component id', componentId)}.replication-password`);
export const rewindPasswordFile = (home: string, planId: string, componentId: string): string =>
  join(planSecretsDir(home, planId), `${safeName('component id', componentId)}.rewind-password`);
export const patroniPasswordFile = (home: string, planId: string, componentId: string): string =>
  join(planSecretsDir(home, planId), `${safeName('component id', componentId)}.patroni-password`);
export const dcsDir = (home: string, planId: string, componentId: string): string =>
  join(planInstancesDir(home, planId), `${safeName('component id', componentId)}-dcs`);
export const certificateAuthorityFile = (home: string, planId: string): string => join(planSecretsDir(home, planId), 'ca.pem');
export const faultsFile = (home: string): string => join(home, 'faults.json');

export interface NodePaths {
  readonly root: string;
  readonly record: string;
  readonly data: string;
  readonly tlsDir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The plan's CA certificate, which a replica verifies its primary with. */
  readonly caFile: string;
  readonly logDir: string;
  readonly startupLog: string;
  readonly socketDir: string;
  /** pgBackRest's config of this node (it holds the repository's key) and its spool, log and lock directories. */
  readonly pgbackrestDir: string;
  readonly pgbackrestConf: string;
  /** A cluster member's own configuration files (Patroni's included), outside the data directory. */
  readonly configDir: string;
  readonly patroniConfig: string;
  readonly patroniPid: string;
  readonly patroniLog: string;
}

export function nodePaths(home: string, planId: string, nodeName: string): NodePaths {
  return pathsOf(join(planInstancesDir(home, planId), safeName('node name', nodeName)));
}

export function pathsOf(root: string): NodePaths {
  return {
    root,
    record: join(root, 'node.json'),
    data: join(root, 'data'),
    tlsDir: join(root, 'tls'),
    certFile: join(root, 'tls', 'server.crt'),
    keyFile: join(root, 'tls', 'server.key'),
    caFile: join(root, 'tls', 'ca.crt'),
    logDir: join(root, 'log'),
    startupLog: join(root, 'log', 'startup.log'),
    socketDir: socketDirFor(root),
    pgbackrestDir: join(root, 'pgbackrest'),
    pgbackrestConf: join(root, 'pgbackrest', 'pgbackrest.conf'),
    configDir: join(root, 'config'),
    patroniConfig: join(root, 'config', 'patroni.yml'),
    patroniPid: join(root, 'patroni.pid'),
    patroniLog: join(root, 'patroni.log'),
  };
}

/**
 * The socket lives beside the data unless CLOUDSEED_HOME is so deep that the path would not fit in
 * a Unix socket address; then it moves to a short directory in the system's temp dir, named after
 * the node so that it is found again.
 */
function socketDirFor(root: string): string {
  const preferred = join(root, 'socket');
  if (`${preferred}/.s.PGSQL.65535`.length <= MAX_SOCKET_PATH) return preferred;
  return join(tmpdir(), `cloudseed-${createHash('sha256').update(root).digest('hex').slice(0, 16)}`);
}
