import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/index.ts';
import type { FieldProblem, PostgresComponent } from '../src/index.ts';
import { accessSql, setPasswordSql } from '../src/postgres/access.ts';
import { renderPgHba } from '../src/postgres/config.ts';

// The plan's databases and roles beyond the application's: what the plan accepts, the pg_hba rows
// that admit them, and the SQL that makes them (run against a real server in test/deploy/access.test.ts).

const planOf = (db: Record<string, unknown>) => ({
  apiVersion: 'cs/v1',
  name: 'orders',
  target: { cloud: 'local' },
  components: [{ id: 'db', type: 'postgres', db: { version: '16', ...db }, network: { allowedCidrs: ['203.0.113.0/24'] } }],
});

function componentOf(db: Record<string, unknown>): PostgresComponent {
  const result = validatePlan(planOf(db));
  if (!result.ok) throw new Error(`expected a valid plan, got ${JSON.stringify(result.errors)}`);
  return result.plan.components[0] as PostgresComponent;
}

function problemsOf(db: Record<string, unknown>): FieldProblem[] {
  const result = validatePlan(planOf(db));
  return result.ok ? [] : result.errors;
}

describe('the databases and roles of a plan', () => {
  it('takes extra databases and roles, a role reading unless it says readwrite', () => {
    const component = componentOf({ databases: ['analytics'], roles: [{ name: 'reporting' }, { name: 'etl', access: 'readwrite' }] });
    expect(component.db.databases).toEqual(['analytics']);
    expect(component.db.roles).toEqual([
      { name: 'reporting', access: 'readonly' },
      { name: 'etl', access: 'readwrite' },
    ]);
  });

  it('refuses names that repeat, clash or are reserved, unknown access, and roles before PostgreSQL 14, naming each field', () => {
    expect(problemsOf({ databases: ['app', 'a', 'a', 'template1', 'Bad-Name'] })).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/components/0/db/databases', message: 'must not repeat a database' }),
        expect.objectContaining({ path: '/components/0/db/databases/3', message: 'is reserved by PostgreSQL or CloudSeed' }),
        expect.objectContaining({ path: '/components/0/db/databases/4' }),
      ]),
    );
    expect(problemsOf({ databases: ['app'] })).toEqual([
      expect.objectContaining({ path: '/components/0/db/databases/0', message: 'is the application database already' }),
    ]);
    expect(problemsOf({ roles: [{ name: 'app' }] })).toEqual([
      expect.objectContaining({ path: '/components/0/db/roles/0/name', message: 'is the application role already' }),
    ]);
    expect(
      problemsOf({ roles: [{ name: 'cloudseed_admin' }, { name: 'pg_monitor' }, { name: 'x', access: 'admin' }, { name: 'y', extra: 1 }] }),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/components/0/db/roles/0/name', message: 'is reserved by CloudSeed' }),
        expect.objectContaining({ path: '/components/0/db/roles/1/name', message: 'is reserved by PostgreSQL or CloudSeed' }),
        expect.objectContaining({ path: '/components/0/db/roles/2/access', message: 'must be readonly or readwrite' }),
        expect.objectContaining({ path: '/components/0/db/roles/3/extra' }),
      ]),
    );
    expect(problemsOf({ roles: [{ name: 'r' }, { name: 'r' }] })).toEqual([
      expect.objectContaining({ path: '/components/0/db/roles', message: 'must not repeat a role' }),
    ]);
    expect(problemsOf({ version: '13', roles: [{ name: 'reporting' }] })).toEqual([
      expect.objectContaining({ path: '/components/0/db/roles', message: 'need PostgreSQL 14 or later (its predefined data roles)' }),
    ]);
    expect(problemsOf({ roles: Array.from({ length: 21 }, (_, index) => ({ name: `r${index}` })) })).toEqual([
      expect.objectContaining({ path: '/components/0/db/roles', message: 'may name at most 20 roles' }),
    ]);
  });

  it('admits the application role and the plan’s roles to every database of the plan from the allowed networks', () => {
    const hba = renderPgHba(componentOf({ databases: ['analytics'], roles: [{ name: 'reporting' }, { name: 'etl', access: 'readwrite' }] }));
    expect(hba).toContain('hostssl  app,analytics app           203.0.113.0/24           scram-sha-256');
    expect(hba).toContain('hostssl  app,analytics reporting,etl 203.0.113.0/24           scram-sha-256');
    // Without roles, no row for them; the application database alone.
    const plain = renderPgHba(componentOf({}));
    expect(plain).toContain('hostssl  app          app           203.0.113.0/24           scram-sha-256');
    expect(plain.match(/^hostssl/gm)).toHaveLength(1);
  });

  it('makes the databases and roles, grants by access, and disables the managed roles the plan no longer names', () => {
    const sql = accessSql(componentOf({ databases: ['analytics'], roles: [{ name: 'reporting' }, { name: 'etl', access: 'readwrite' }] }));
    expect(sql).toContain(`SELECT format('CREATE DATABASE %I OWNER %I', 'analytics', 'app')`);
    expect(sql).toContain('GRANT pg_read_all_data TO "reporting";');
    expect(sql).toContain('REVOKE pg_write_all_data FROM "reporting";');
    expect(sql).toContain('GRANT pg_read_all_data, pg_write_all_data TO "etl";');
    expect(sql).toContain(`AND r.rolname NOT IN ('reporting', 'etl') \\gexec`);
    expect(sql).toContain('ALTER DATABASE "analytics" OWNER TO "app";');
    // With no roles, every managed role is disabled.
    expect(accessSql(componentOf({}))).toMatch(/WHERE g\.rolname = 'cloudseed_roles' \\gexec/);
  });

  it('sets a password only on a managed login role, as its SCRAM verifier, with statement logging off', () => {
    const sql = setPasswordSql("o'brien", 'SCRAM-SHA-256$4096:c2FsdA==$a:b');
    expect(sql.startsWith("SET log_statement = 'none';")).toBe(true);
    expect(sql).toContain(`r.rolname = 'o''brien' AND NOT r.rolsuper AND r.rolcanlogin`);
    expect(sql).toContain(`format('ALTER ROLE %I PASSWORD %L', 'o''brien', 'SCRAM-SHA-256$4096:c2FsdA==$a:b')`);
    expect(sql).toContain("ELSE 'SELECT cloudseed_role_not_managed()'");
  });
});
