// How clients connect to a deployment: always TLS with the server verified against the plan's own
// certificate authority (`sslmode=verify-full`). libpq and node-postgres read the CA from the file
// `sslrootcert` names, so the connection string names the file the CA is saved as, in the directory
// the client runs in; the web app and the API offer the CA under that name.

export interface ConnectionEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  /**
   * A cluster's members, leader first: the string then lists them all and libpq picks the one the
   * session attributes ask for, so it reaches the new leader after a failover unchanged.
   */
  readonly members?: readonly { readonly host: string; readonly port: number }[];
  /** A load balancer that always forwards to the leader (AWS Patroni clusters, reachable inside the VPC). */
  readonly loadBalancer?: { readonly host: string; readonly port: number };
}

/** `read-write` finds the leader; `prefer-standby` spreads reads to replicas and falls back to the leader. */
export type SessionAttributes = 'read-write' | 'prefer-standby';

/** The file name a plan's CA certificate is saved as, and that its connection strings name. */
export const caFileName = (planId: string): string => `cloudseed-${planId.replace(/[^A-Za-z0-9_-]/g, '-')}-ca.crt`;

/**
 * `postgresql://user[:password]@host:port/database?sslmode=verify-full&sslrootcert=<file>`; for a
 * cluster `host1:port1,host2:port2,…` and `target_session_attrs` (libpq's multi-host form).
 */
export function connectionUri(endpoint: ConnectionEndpoint, planId: string, password?: string, attributes: SessionAttributes = 'read-write'): string {
  const login =
    password === undefined ? encodeURIComponent(endpoint.username) : `${encodeURIComponent(endpoint.username)}:${encodeURIComponent(password)}`;
  const members = endpoint.members !== undefined && endpoint.members.length > 1 ? endpoint.members : [endpoint];
  const hosts = members.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  const session = members.length > 1 ? `&target_session_attrs=${attributes}` : '';
  return `postgresql://${login}@${hosts}/${encodeURIComponent(endpoint.database)}?sslmode=verify-full&sslrootcert=${caFileName(planId)}${session}`;
}

/** A component's nodes as connection members, the current leader first. */
export function membersOf(
  nodes: readonly { readonly role: string; readonly host: string; readonly port: number }[],
): { host: string; port: number }[] {
  return [...nodes.filter((node) => node.role === 'primary'), ...nodes.filter((node) => node.role !== 'primary')].map(({ host, port }) => ({
    host,
    port,
  }));
}

/** The connection string through a cluster's load balancer: one host, the leader behind it. */
export function loadBalancerUri(endpoint: ConnectionEndpoint, planId: string, password?: string): string | undefined {
  const balancer = endpoint.loadBalancer;
  if (!balancer) return undefined;
  return connectionUri({ host: balancer.host, port: balancer.port, database: endpoint.database, username: endpoint.username }, planId, password);
}
