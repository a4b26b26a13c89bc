import { postgresComponents } from '../src/cs-json/components.ts';
import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/index.ts';
import type { PostgresComponent, PlanInput } from '../src/index.ts';
import { renderPgHba } from '../src/postgres/config.ts';
import {
  clusterWideSettings,
  dcsConfig,
  etcdArguments,
  MAXIMUM_LAG_ON_FAILOVER,
  parseClusterState,
  renderPatroniConfig,
  REWIND_USER,
} from '../src/postgres/patroni.ts';
import type { PatroniMember } from '../src/postgres/patroni.ts';

function cluster(db: Record<string, unknown> = {}): PostgresComponent {
  const input: PlanInput = {
    apiVersion: 'cs/v1',
    name: 'ha',
    components: [
      {
        id: 'db',
        type: 'postgres',
        hardware: { memoryGiB: 4, cpus: 2 },
        db: { version: '16', maxConnections: 120, topology: { mode: 'cluster', replicas: 2 }, ...db },
      },
    ],
  };
  const result = validatePlan(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const [component] = postgresComponents(result.plan);
  if (!component) throw new Error('no component');
  return component;
}

const layout = {
  listenAddresses: '127.0.0.1',
  port: 5433,
  sslCertFile: '/n/tls/server.crt',
  sslKeyFile: '/n/tls/server.key',
  logDirectory: '/n/log',
  unixSocketDirectory: '/n/socket',
};

const member: PatroniMember = {
  name: 'db-1',
  scope: 'plan-1-db',
  postgres: { host: '127.0.0.1', port: 5433 },
  restApi: { host: '127.0.0.1', port: 8009 },
  etcd: [
    { host: '127.0.0.1', port: 2379 },
    { host: '127.0.0.1', port: 2381 },
    { host: '127.0.0.1', port: 2383 },
  ],
  dataDir: '/n/data',
  binDir: '/usr/lib/postgresql/16/bin',
  configFile: '/n/config/postgresql.conf',
  hbaFile: '/n/config/pg_hba.conf',
  identFile: '/n/config/pg_ident.conf',
  pgpassFile: '/n/config/pgpass',
  caFile: '/n/tls/ca.crt',
  layout,
  watchdog: 'required',
  restApiUser: { username: 'cloudseed', password: 'rest-secret' },
  replicationPassword: 'repl-secret',
  rewindPassword: 'rewind-secret',
};

describe('Patroni configuration', () => {
  it('runs with the failover timing, lag limit, rewind, slots and failsafe mode the product promises', () => {
    expect(dcsConfig(cluster(), layout)).toMatchObject({
      ttl: 20,
      loop_wait: 5,
      retry_timeout: 5,
      maximum_lag_on_failover: 1024 * 1024,
      failsafe_mode: true,
      synchronous_mode: false,
      postgresql: { use_pg_rewind: true, use_slots: true },
    });
    expect(MAXIMUM_LAG_ON_FAILOVER).toBe(1_048_576);
  });

  it('turns synchronous mode on when the plan asks for it, never strict', () => {
    expect(dcsConfig(cluster({ topology: { mode: 'cluster', replicas: 1, synchronous: true } }), layout)).toMatchObject({
      synchronous_mode: true,
      synchronous_mode_strict: false,
    });
  });

  it('keeps the settings every member must share in etcd, from the plan’s tuning and unquoted', () => {
    const settings = clusterWideSettings(cluster(), layout);
    expect(settings).toMatchObject({
      max_connections: '120',
      wal_level: 'replica',
      max_wal_senders: '7',
      max_replication_slots: '7',
      wal_keep_size: '1GB',
      wal_log_hints: 'on',
    });
    expect(Object.values(settings).some((value) => value.startsWith("'"))).toBe(false);
    expect(settings).not.toHaveProperty('shared_buffers');
  });

  it('renders patroni.yml as JSON (which YAML reads) with the member’s addresses, files and credentials', () => {
    const text = renderPatroniConfig(cluster(), member);
    expect(text.split('\n')[0]).toMatch(/^# Written by CloudSeed for plan-1-db\/db-1/);
    const config = JSON.parse(text.split('\n').slice(1).join('\n')) as {
      postgresql: { authentication: { superuser: object } };
      bootstrap: { dcs: { ttl: number } };
    };
    expect(config).toMatchObject({
      scope: 'plan-1-db',
      namespace: '/cloudseed/',
      name: 'db-1',
      restapi: { listen: '127.0.0.1:8009', connect_address: '127.0.0.1:8009', authentication: { username: 'cloudseed', password: 'rest-secret' } },
      etcd3: { hosts: ['127.0.0.1:2379', '127.0.0.1:2381', '127.0.0.1:2383'] },
      postgresql: {
        listen: '127.0.0.1:5433',
        data_dir: '/n/data',
        bin_dir: '/usr/lib/postgresql/16/bin',
        custom_conf: '/n/config/postgresql.conf',
        use_unix_socket: true,
        parameters: { hba_file: '/n/config/pg_hba.conf', ident_file: '/n/config/pg_ident.conf', unix_socket_directories: '/n/socket' },
        authentication: {
          superuser: { username: 'postgres' },
          replication: { username: 'replicator', password: 'repl-secret', sslmode: 'verify-full', sslrootcert: '/n/tls/ca.crt' },
          rewind: { username: REWIND_USER, password: 'rewind-secret', sslmode: 'verify-full', sslrootcert: '/n/tls/ca.crt' },
        },
      },
      watchdog: { mode: 'required' },
    });
    // The superuser logs in over the socket by peer: it has no password to leak.
    expect(config.postgresql.authentication.superuser).not.toHaveProperty('password');
    expect(config.bootstrap.dcs.ttl).toBe(20);
  });

  it('lets the rewind role reach only the postgres database over TLS', () => {
    const hba = renderPgHba(cluster(), { rewindCidrs: ['10.0.0.0/24'] });
    expect(hba).toMatch(new RegExp(`^hostssl\\s+postgres\\s+${REWIND_USER}\\s+10\\.0\\.0\\.0/24\\s+scram-sha-256$`, 'm'));
    expect(renderPgHba(cluster())).not.toContain(REWIND_USER);
  });
});

describe('etcd arguments', () => {
  it('start one member of three on its own client and peer addresses', () => {
    const members = [0, 1, 2].map((index) => ({
      name: `member-${index}`,
      client: { host: '127.0.0.1', port: 2379 + index * 2 },
      peer: { host: '127.0.0.1', port: 2380 + index * 2 },
    }));
    const [first] = members;
    if (!first) throw new Error('no member');
    expect(etcdArguments('plan-1-db', first, members, '/d/member-0')).toEqual([
      '--name=member-0',
      '--data-dir=/d/member-0',
      '--listen-client-urls=http://127.0.0.1:2379',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=member-0=http://127.0.0.1:2380,member-1=http://127.0.0.1:2382,member-2=http://127.0.0.1:2384',
      '--initial-cluster-token=plan-1-db',
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
    ]);
  });
});

describe('Patroni cluster state', () => {
  const answer = {
    members: [
      { name: 'db-0', role: 'replica', state: 'streaming', host: '127.0.0.1', port: 5432, timeline: 3, lag: 16, pending_restart: true },
      { name: 'db-1', role: 'leader', state: 'running', host: '127.0.0.1', port: 5433, timeline: 3 },
      { name: 'db-2', role: 'sync_standby', state: 'stopped', host: '127.0.0.1', port: 5434, lag: 'unknown' },
    ],
  };

  it('reads each member’s role, state, timeline and lag, and the running leader', () => {
    const state = parseClusterState(answer);
    expect(state.leader?.name).toBe('db-1');
    expect(state.members[0]).toEqual({
      name: 'db-0',
      role: 'replica',
      state: 'streaming',
      host: '127.0.0.1',
      port: 5432,
      timeline: 3,
      lagBytes: 16,
      pendingRestart: true,
    });
    expect(state.members[2]).not.toHaveProperty('lagBytes');
    expect(state.paused).toBe(false);
  });

  it('has no leader when the leader does not run', () => {
    const stopped = { members: answer.members.map((entry) => (entry.role === 'leader' ? { ...entry, state: 'stopped' } : entry)) };
    expect(parseClusterState(stopped).leader).toBeUndefined();
  });

  it('refuses an answer that is not Patroni’s', () => {
    expect(() => parseClusterState({})).toThrow(/no members list/);
    expect(() => parseClusterState({ members: [{ name: 'x' }] })).toThrow(/malformed/);
    expect(() => parseClusterState({ members: [{ name: 'x', role: 'boss', state: 'running' }] })).toThrow(/unknown role boss/);
  });
});
