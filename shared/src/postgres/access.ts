import type { PostgresComponent } from '../cs-json/schema.ts';
import { quoteIdentifier, quoteLiteral } from './sql.ts';

// The plan's databases and roles beyond the application's own: each extra database is owned by the
// application role; each role logs in to every one of the plan's databases, reading
// (pg_read_all_data) or reading and writing rows (and pg_write_all_data), never changing the schema.
// A role has no password until its owner asks for one (POST …/roles/{role}/password), which is
// shown once and kept by CloudSeed only as the SCRAM verifier inside PostgreSQL.
//
// CloudSeed marks the roles it made by membership of MANAGED_ROLES (which grants nothing): a role
// taken out of the plan loses its login and its access on the next deploy, but is not dropped (it
// may own objects); a database taken out of the plan is never dropped, only no longer admitted.

export const MANAGED_ROLES = 'cloudseed_roles';
export const ROLE_ACCESS = ['readonly', 'readwrite'] as const;
export type RoleAccess = (typeof ROLE_ACCESS)[number];
/** The predefined roles each access is granted (PostgreSQL 14 and later). */
const GRANTS: Record<RoleAccess, readonly string[]> = {
  readonly: ['pg_read_all_data'],
  readwrite: ['pg_read_all_data', 'pg_write_all_data'],
};
export const ROLES_MIN_MAJOR = 14;

/** Every database of the plan, the application's first. */
export function databasesOf(component: PostgresComponent): string[] {
  return [component.db.databaseName, ...(component.db.databases ?? [])];
}

/**
 * Statements for psql as the superuser in the `postgres` database, after the application role
 * exists: the extra databases, the managed roles as the plan says, and the ones it no longer names
 * disabled. Idempotent; no statement is logged with a value that matters (there is none).
 */
export function accessSql(component: PostgresComponent): string {
  const owner = quoteIdentifier(component.db.username);
  const roles = component.db.roles ?? [];
  const statements: string[] = [
    `SELECT format('CREATE ROLE %I NOLOGIN', ${quoteLiteral(MANAGED_ROLES)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(MANAGED_ROLES)}) \\gexec`,
  ];
  for (const name of component.db.databases ?? []) {
    statements.push(
      `SELECT format('CREATE DATABASE %I OWNER %I', ${quoteLiteral(name)}, ${quoteLiteral(component.db.username)}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${quoteLiteral(name)}) \\gexec`,
    );
  }
  for (const role of roles) {
    const name = quoteIdentifier(role.name);
    const revoked = GRANTS.readwrite.filter((grant) => !GRANTS[role.access].includes(grant));
    statements.push(
      `SELECT format('CREATE ROLE %I LOGIN', ${quoteLiteral(role.name)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(role.name)}) \\gexec`,
      `ALTER ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;`,
      `GRANT ${quoteIdentifier(MANAGED_ROLES)} TO ${name};`,
      `GRANT ${GRANTS[role.access].join(', ')} TO ${name};`,
      ...(revoked.length > 0 ? [`REVOKE ${revoked.join(', ')} FROM ${name};`] : []),
    );
  }
  // Roles CloudSeed made that the plan no longer names: no login, no access; their objects stay.
  const kept = roles.map((role) => quoteLiteral(role.name)).join(', ');
  statements.push(
    `SELECT format('ALTER ROLE %I NOLOGIN', r.rolname), format('REVOKE pg_read_all_data, pg_write_all_data FROM %I', r.rolname) FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = ${quoteLiteral(MANAGED_ROLES)}${kept ? ` AND r.rolname NOT IN (${kept})` : ''} \\gexec`,
  );
  // The owner of the application's database owns the extra ones too (a database made before may have another).
  for (const name of component.db.databases ?? []) statements.push(`ALTER DATABASE ${quoteIdentifier(name)} OWNER TO ${owner};`);
  return `${statements.join('\n')}\n`;
}

/**
 * Sets a managed role's password as its SCRAM verifier. Refuses (the psql error names it) a role
 * that is not one of CloudSeed's managed roles, or that is a superuser: the request can only ever
 * reach a role the plan names.
 */
export function setPasswordSql(role: string, verifier: string): string {
  return [
    "SET log_statement = 'none';",
    'SET log_min_duration_statement = -1;',
    `SELECT CASE WHEN EXISTS (SELECT FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = ${quoteLiteral(MANAGED_ROLES)} AND r.rolname = ${quoteLiteral(role)} AND NOT r.rolsuper AND r.rolcanlogin) THEN format('ALTER ROLE %I PASSWORD %L', ${quoteLiteral(role)}, ${quoteLiteral(verifier)}) ELSE 'SELECT cloudseed_role_not_managed()' END \\gexec`,
    '',
  ].join('\n');
}
