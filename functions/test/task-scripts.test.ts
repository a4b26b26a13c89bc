import { validatePlan } from '@cloudseed/shared';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import { accessSql } from '@cloudseed/shared/postgres/access';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../providers/errors.ts';
import { scramVerifier } from '../providers/local/secrets.ts';
import { resultOf } from '../providers/node-backups/backup-results.ts';
import type { BackupHost } from '../providers/node-backups/host.ts';
import { setRolePassword } from '../providers/node-backups/role-password.ts';
import type { NodeRef } from '../providers/provider.ts';
import { PG_BIN, runBash, startScratchPostgres } from './support/cloud-fakes.ts';
import type { ScratchPostgres } from './support/cloud-fakes.ts';

// A task script (task-helpers.sh, then its own file, after the AWS prelude) run as the agents run
// it, as root with bash, against a real PostgreSQL 15 server: role-password.sh sets a managed role's
// password to the verifier it is given, answers its one result line on standard output, and fails
// with one line naming the role when the role is not one of the plan's.

const NODE: NodeRef = { name: 'db-0', role: 'primary', nodeId: 'i-0123456789abcdef0', host: '10.0.0.2', port: 5432 };

let pg: ScratchPostgres;
let host: BackupHost;

beforeAll(async () => {
  pg = await startScratchPostgres();
  // The plan's roles, made as configure makes them: `reporting` is managed, `app` is the application's own.
  const plan = validatePlan({
    apiVersion: 'cs/v1',
    name: 'p',
    target: { cloud: 'aws', region: 'eu-west-1' },
    components: [{ id: 'db', type: 'postgres', db: { version: '15', roles: [{ name: 'reporting', access: 'readonly' }] } }],
  });
  if (!plan.ok) throw new Error(JSON.stringify(plan.errors));
  const [component] = postgresComponents(plan.plan);
  await runBash(['-c', `printf '%s\\n' "$SQL" | runuser -u postgres -- ${PG_BIN}/psql -X -q -v ON_ERROR_STOP=1 -d postgres`], {
    SQL: accessSql(component!),
    PGHOST: pg.dir,
    PGPORT: String(pg.port),
  }).then((run) => {
    if (run.code !== 0) throw new Error(run.stderr);
  });
  host = {
    planId: 'p-1',
    component: { id: 'db', os: { name: 'debian', version: '12' }, postgres: { major: 15, port: pg.port, databaseName: 'app', username: 'app' } },
    cloud: 'aws',
    scriptValues: () => ({}),
    store: {
      url: () => '',
      checkBucket: () => undefined,
      exists: () => Promise.reject(new Error('no storage here')),
      read: () => Promise.reject(new Error('no storage here')),
      find: () => Promise.reject(new Error('no storage here')),
      remove: () => Promise.reject(new Error('no storage here')),
    },
    nodeLabel: (node) => node.name,
    checkNode: () => undefined,
    // As SSM runs it: bash as root; the result is the marked line of standard output, a failure the end of standard error.
    run: async (_node, _label, script, what) => {
      const run = await runBash(['-c', script], { PGHOST: pg.dir });
      if (run.code !== 0) throw new PermanentError(`${what} failed: ${run.stderr.trim().split('\n').at(-1)}`);
      return resultOf(run.stdout, what);
    },
    runScript: () => Promise.reject(new Error('not used')),
  };
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

describe('role-password.sh', () => {
  it('sets a managed role’s password to the verifier it is sent, and prints only its result', async () => {
    const verifier = await scramVerifier('Correct-Horse-Battery-Staple-42');

    await setRolePassword(host, NODE, 'reporting', verifier);

    expect(await pg.psql('postgres', "SELECT rolpassword FROM pg_authid WHERE rolname = 'reporting'")).toBe(verifier);
  });

  it('refuses, in one line naming it, a role that is not one of the plan’s, and changes nothing', async () => {
    const before = await pg.psql('postgres', "SELECT coalesce(rolpassword, '-') FROM pg_authid WHERE rolname = 'app'");

    const refused = setRolePassword(host, NODE, 'app', await scramVerifier('Another-Password-123456'));

    await expect(refused).rejects.toThrow(
      "setting the password of role app on db-0 failed: cloudseed role-password: role app is not one of the plan's roles here: deploy the plan with it first",
    );
    expect(await pg.psql('postgres', "SELECT coalesce(rolpassword, '-') FROM pg_authid WHERE rolname = 'app'")).toBe(before);
  });
});
