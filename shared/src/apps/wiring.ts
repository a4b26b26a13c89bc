// A link from an app to its database, as the variables the app reads. Every driver verifies the
// server against the plan's CA: DATABASE_URL says sslmode=verify-full and names the CA file
// (node-postgres and libpq both read `sslrootcert`), and the PG* variables say the same for
// libpq-based clients (psycopg, psql) that read the environment instead.
//
// DATABASE_URL names one host, the primary (or a cluster's load balancer): node-postgres does not
// take libpq's multi-host form. PGHOST and PGPORT list every member with
// PGTARGETSESSIONATTRS=read-write, so a libpq client finds the leader after a failover.

export interface LinkedDatabase {
  /** Primary (or load balancer) first. */
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

export function databaseEnvironment(link: LinkedDatabase, caFile: string): Record<string, string> {
  const [primary] = link.hosts;
  if (primary === undefined) throw new RangeError('a linked database needs at least one host');
  const hostPart = primary.host.includes(':') ? `[${primary.host}]` : primary.host;
  const url =
    `postgresql://${encodeURIComponent(link.username)}:${encodeURIComponent(link.password)}@${hostPart}:${primary.port}` +
    `/${encodeURIComponent(link.database)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`;
  return {
    DATABASE_URL: url,
    PGHOST: link.hosts.map(({ host }) => host).join(','),
    PGPORT: link.hosts.map(({ port }) => String(port)).join(','),
    PGDATABASE: link.database,
    PGUSER: link.username,
    PGPASSWORD: link.password,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: caFile,
    ...(link.hosts.length > 1 ? { PGTARGETSESSIONATTRS: 'read-write' } : {}),
  };
}
