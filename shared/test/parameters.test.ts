import { describe, expect, it } from 'vitest';
import { postgresComponents } from '../src/cs-json/components.ts';
import { validatePlan } from '../src/cs-json/validate.ts';
import { normaliseParameter, PARAMETERS } from '../src/postgres/parameters.ts';
import { renderPostgresqlConf, tuneComponent } from '../src/postgres/config.ts';
import { memberRestartChecks, memberRestartSettings } from '../src/postgres/patroni.ts';
import { parseMemory } from '../src/postgres/units.ts';

// The settings a plan may set itself (db.parameters): which, in what form, within what bounds, and
// that they win over pgtune's in the rendered postgresql.conf.

const planWith = (db: Record<string, unknown>) =>
  validatePlan({ apiVersion: 'cs/v1', name: 'p', target: { cloud: 'local' }, components: [{ id: 'db', type: 'postgres', db }] });

const LAYOUT = {
  listenAddresses: '*',
  port: 5432,
  sslCertFile: 'server.crt',
  sslKeyFile: 'server.key',
  logDirectory: 'log',
} as const;

describe('plan parameters', () => {
  it('take memory, durations, numbers and booleans in PostgreSQL’s forms, normalised', () => {
    const result = planWith({
      parameters: { work_mem: '16 MB', statement_timeout: '30s', random_page_cost: 1.1, jit: 'false', log_min_duration_statement: -1 },
    });
    expect(result.ok).toBe(true);
    const [component] = postgresComponents(result.ok ? result.plan : { components: [] });
    expect(component!.db.parameters).toEqual({
      work_mem: '16MB',
      statement_timeout: '30s',
      random_page_cost: '1.1',
      jit: 'off',
      log_min_duration_statement: '-1',
    });
  });

  it('name each setting they cannot take, and why', () => {
    const result = planWith({
      parameters: { shared_preload_libraries: 'evil', ssl: 'off', work_mem: '99TB', statement_timeout: 'soon', checkpoint_completion_target: 2 },
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((error) => error.path).sort()).toEqual([
      '/components/0/db/parameters/checkpoint_completion_target',
      '/components/0/db/parameters/shared_preload_libraries',
      '/components/0/db/parameters/ssl',
      '/components/0/db/parameters/statement_timeout',
      '/components/0/db/parameters/work_mem',
    ]);
    expect(errors.find((error) => error.path.endsWith('/ssl'))?.message).toMatch(
      /^is not a setting a plan may change; these are: shared_buffers, work_mem/,
    );
    expect(errors.find((error) => error.path.endsWith('/work_mem'))?.message).toBe('must be from 64kB to 4GB');
    expect(errors.find((error) => error.path.endsWith('/statement_timeout'))?.message).toMatch(/must be a duration/);
  });

  it('may set restart-only settings on a cluster too: each member is restarted in place', () => {
    const result = planWith({ topology: { mode: 'cluster', replicas: 2 }, parameters: { shared_buffers: '1GB', work_mem: '8MB' } });
    expect(result.ok).toBe(true);
    const [component] = postgresComponents(result.ok ? result.plan : { components: [] });
    // What a member's configure compares its server with: shared_buffers in the 8kB pages pg_settings counts.
    expect(memberRestartChecks(component!)).toEqual(['shared_buffers=131072']);
    expect(memberRestartSettings(component!)).toEqual({ shared_buffers: 1024 * 1024 });
  });

  it('leave pgtune’s shared_buffers as the one a member compares with when the plan sets none', () => {
    const result = planWith({ topology: { mode: 'cluster', replicas: 2 } });
    const [component] = postgresComponents(result.ok ? result.plan : { components: [] });
    const tuned = tuneComponent(component!).settings['shared_buffers'];
    expect(tuned).toBeDefined();
    expect(memberRestartChecks(component!)).toEqual([`shared_buffers=${parseMemory(tuned!.replace(/'/g, '')) / 8}`]);
  });

  it('win over pgtune’s values in postgresql.conf, which say they are the plan’s', () => {
    const result = planWith({ parameters: { work_mem: '8MB', shared_buffers: '256MB' } });
    const [component] = postgresComponents(result.ok ? result.plan : { components: [] });
    const conf = renderPostgresqlConf(component!, LAYOUT).split('\n');
    const last = (name: string) => conf.filter((line) => line.startsWith(`${name} = `)).at(-1);
    expect(last('work_mem')).toBe('work_mem = 8MB');
    expect(last('shared_buffers')).toBe('shared_buffers = 256MB');
    expect(conf.indexOf('work_mem = 8MB')).toBeGreaterThan(conf.findIndex((line) => line.startsWith('# --- Set in the plan')));
  });

  it('each say whether a reload or a restart applies them', () => {
    expect(PARAMETERS.shared_buffers.apply).toBe('restart');
    expect(PARAMETERS.work_mem.apply).toBe('reload');
    expect(() => normaliseParameter('jit', 'maybe')).toThrow('must be on or off');
    expect(normaliseParameter('lock_timeout', '5min')).toBe('5min');
  });
});
