// How clients connect to a deployment: always TLS with the server verified against the plan's own
// certificate authority (`sslmode=verify-full`). libpq and node-postgres read the CA from the file
// `sslrootcert` names, so the connection string names the file the CA is saved as, in the directory
// the client runs in; the web app and the API offer the CA under that name.

export interface ConnectionEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
}

/** The file name a plan's CA certificate is saved as, and that its connection strings name. */
export const caFileName = (planId: string): string => `cloudseed-${planId.replace(/[^A-Za-z0-9_-]/g, '-')}-ca.crt`;

/** `postgresql://user[:password]@host:port/database?sslmode=verify-full&sslrootcert=<file>`. */
export function connectionUri(endpoint: ConnectionEndpoint, planId: string, password?: string): string {
  const login =
    password === undefined ? encodeURIComponent(endpoint.username) : `${encodeURIComponent(endpoint.username)}:${encodeURIComponent(password)}`;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `postgresql://${login}@${host}:${endpoint.port}/${encodeURIComponent(endpoint.database)}?sslmode=verify-full&sslrootcert=${caFileName(planId)}`;
}
