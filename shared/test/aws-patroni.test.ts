import { spawnSync } from 'node:child_process';
import { postgresComponents } from '../src/cs-json/components.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOs, renderAwsJson, renderConfigureScript, renderInstallScript, validatePlan } from '../src/index.ts';
import type { OsImage, Plan } from '../src/index.ts';
import { awsEtcdArguments, renderAwsPatroniConfig, usesPatroni } from '../src/targets/aws/patroni.ts';
import { nodeServerLayout } from '../src/targets/aws/scripts.ts';

// Clusters of three or more nodes on EC2 run Patroni and etcd; the scripts and files that do it.

function plan(topology: Record<string, unknown>, os = { name: 'debian', version: '12' }, version = '15'): Plan {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [{ id: 'db', type: 'postgres', os, db: { version, topology }, network: { allowedCidrs: ['203.0.113.0/24'] } }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

const context = { planId: 'p-1', region: 'eu-central-1', passwordParameter: '/cloudseed/p-1/db/password' };
const images: [string, string, string][] = [
  ['amazon-linux', '2023', '17'],
  ['ubuntu', '24.04', '16'],
  ['debian', '12', '15'],
];

function scripts(name: string, version: string, pg: string, replicas = 2) {
  const component = postgresComponents(plan({ mode: 'cluster', replicas }, { name, version }, pg))[0]!;
  const image = findOs(name, version) as OsImage;
  return { component, image, install: renderInstallScript(component, image), configure: renderConfigureScript(component, image, context) };
}

const shellcheck = (script: string) => spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });

describe('which clusters run Patroni on AWS', () => {
  it('is a cluster of three or more nodes: one replica cannot hold an etcd majority on its own nodes', () => {
    expect(usesPatroni(postgresComponents(plan({ mode: 'cluster', replicas: 2 }))[0]!)).toBe(true);
    expect(usesPatroni(postgresComponents(plan({ mode: 'cluster', replicas: 1 }))[0]!)).toBe(false);
    expect(usesPatroni(postgresComponents(plan({ mode: 'single', replicas: 0 }))[0]!)).toBe(false);
  });

  it("names Patroni's scope, REST API and the rewind and REST passwords in aws-json, and nothing of it for one replica", () => {
    const [ha] = renderAwsJson(plan({ mode: 'cluster', replicas: 2 }), { planId: 'p-1' }).components;
    expect(ha?.patroni).toEqual({
      scope: 'p-1-db',
      restPort: 8008,
      restUser: 'cloudseed',
      restPasswordParameter: '/cloudseed/p-1/db/patroni-password',
      rewindPasswordParameter: '/cloudseed/p-1/db/rewind-password',
      etcdClientPort: 2379,
      etcdPeerPort: 2380,
    });
    const [streaming] = renderAwsJson(plan({ mode: 'cluster', replicas: 1 }), { planId: 'p-1' }).components;
    expect(streaming?.patroni).toBeUndefined();
    expect(streaming?.scripts.configure).not.toContain('PATRONI_YML=');
  });
});

describe('the load balancer of a Patroni cluster in aws-json', () => {
  it("admits the plan's networks to PostgreSQL's port, checks Patroni's /primary every 5 s, two checks to change, and is in the estimate", () => {
    const [ha] = renderAwsJson(plan({ mode: 'cluster', replicas: 2 }), { planId: 'p-1' }).components;
    expect(ha?.endpoint).toEqual({
      port: 5432,
      securityGroup: {
        GroupName: 'cloudseed-p-1-db-endpoint',
        Description: 'CloudSeed orders/db load balancer: PostgreSQL from the plan allowed networks only',
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
            Ipv6Ranges: [],
          },
        ],
      },
      healthCheck: {
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: '8008',
        HealthCheckPath: '/primary',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200' },
      },
      tags: [
        { Key: 'cloudseed:managed', Value: 'true' },
        { Key: 'cloudseed:plan-id', Value: 'p-1' },
        { Key: 'cloudseed:component', Value: 'db' },
        { Key: 'Name', Value: 'orders/db' },
      ],
    });
    expect(ha?.cost.loadBalancerUsd).toBe(16.43);
    expect(renderAwsJson(plan({ mode: 'cluster', replicas: 1 }), { planId: 'p-1' }).components[0]?.endpoint).toBeUndefined();
    expect(renderAwsJson(plan({ mode: 'cluster', replicas: 1 }), { planId: 'p-1' }).components[0]?.cost.loadBalancerUsd).toBeUndefined();
    expect(renderAwsJson(plan({ mode: 'single', replicas: 0 }), { planId: 'p-1' }).components[0]?.endpoint).toBeUndefined();
  });

  it('describes its security groups and their rules only in the characters EC2 accepts', () => {
    // EC2 refuses anything else in a group's or a rule's description (an apostrophe, for one).
    const accepted = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
    const [ha] = renderAwsJson(plan({ mode: 'cluster', replicas: 2 }), { planId: 'p-1' }).components;
    const descriptions = [ha!.securityGroup.Description, ha!.endpoint!.securityGroup.Description];
    const rules = [...ha!.securityGroup.IpPermissions, ...ha!.endpoint!.securityGroup.IpPermissions] as { IpRanges: { Description: string }[] }[];
    for (const description of [...descriptions, ...rules.flatMap((rule) => rule.IpRanges.map((range) => range.Description))])
      expect(description).toMatch(accepted);
  });
});

describe("Patroni's and etcd's files on EC2", () => {
  const { component, image } = scripts('debian', '12', '15');
  const config = JSON.parse(
    renderAwsPatroniConfig(component, image, nodeServerLayout(component, image), 'p-1-db', ['db-0', 'db-1', 'db-2']).replace(/^#.*\n/, ''),
  ) as Record<string, Record<string, unknown>>;

  it('runs with watchdog required, the REST API and PostgreSQL on the private address, and tokens for what only the node knows', () => {
    expect(config.watchdog).toEqual({ mode: 'required' });
    expect(config.restapi).toEqual({
      listen: '@node-ip@:8008',
      connect_address: '@node-ip@:8008',
      authentication: { username: 'cloudseed', password: '@rest-api-password@' },
    });
    expect(config.name).toBe('@node-name@');
    expect(config.etcd3).toEqual({ hosts: ['@etcd-0@:2379', '@etcd-1@:2379', '@etcd-2@:2379'] });
    const postgresql = config.postgresql as Record<string, unknown>;
    expect(postgresql.listen).toBe('*:5432');
    expect(postgresql.connect_address).toBe('@node-ip@:5432');
    expect(postgresql.data_dir).toBe('/var/lib/postgresql/15/main');
    expect(postgresql.bin_dir).toBe('/usr/lib/postgresql/15/bin');
    expect(postgresql.custom_conf).toBe('/etc/cloudseed/patroni/postgresql.conf');
    expect(JSON.stringify(postgresql.authentication)).toContain('"password":"@replication-password@"');
    expect(JSON.stringify(postgresql.authentication)).toContain('"password":"@rewind-password@"');
  });

  it("keeps the server certificate outside the data directory, which Patroni's clone replaces", () => {
    const layout = nodeServerLayout(component, image);
    expect(layout.sslCertFile).toBe('/etc/cloudseed/patroni/server.crt');
    expect(layout.sslKeyFile).toBe('/etc/cloudseed/patroni/server.key');
    const single = postgresComponents(plan({ mode: 'cluster', replicas: 1 }))[0]!;
    expect(nodeServerLayout(single, image).sslCertFile).toBe('/var/lib/postgresql/15/main/cloudseed-server.crt');
  });

  it("gives etcd's three members the first three nodes' names and their addresses as tokens", () => {
    const members = awsEtcdArguments('p-1-db', ['db-0', 'db-1', 'db-2', 'db-3']);
    expect(members).toHaveLength(3);
    expect(members[1]).toContain('--name=db-1');
    expect(members[1]).toContain('--listen-peer-urls=http://@etcd-1@:2380');
    expect(members[1]).toContain('--initial-cluster=db-0=http://@etcd-0@:2380,db-1=http://@etcd-1@:2380,db-2=http://@etcd-2@:2380');
  });
});

describe('install and configure scripts of a Patroni cluster', () => {
  it.each(images)('are shellcheck-clean on %s %s with PostgreSQL %s', (name, version, pg) => {
    const { install, configure } = scripts(name, version, pg);
    for (const script of [install, configure]) {
      const result = shellcheck(script);
      expect(result.error, 'shellcheck must be installed').toBeUndefined();
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it("installs each OS's Patroni and etcd packages, and softdog with /dev/watchdog for postgres, only for such a cluster", () => {
    expect(scripts('amazon-linux', '2023', '17').install).toContain("\nHA_PACKAGES=('patroni' 'patroni-etcd' 'etcd')\n");
    expect(scripts('debian', '12', '15').install).toContain("\nHA_PACKAGES=('patroni' 'python3-etcd' 'etcd-server')\n");
    const install = scripts('ubuntu', '24.04', '16').install;
    expect(install).toContain("\nHA_PACKAGES=('patroni' 'python3-etcd' 'etcd-server')\n");
    expect(install).toContain("printf 'softdog\\n' > /etc/modules-load.d/cloudseed-softdog.conf");
    expect(install).toContain('KERNEL=="watchdog", OWNER="postgres", GROUP="postgres", MODE="0600"');
    expect(scripts('debian', '12', '15', 1).install).toContain('\nHA_PACKAGES=()\n');
  });

  it('fills the tokens on the node from the provider and the instance, and refuses an address that is not IPv4', () => {
    const { configure } = scripts('debian', '12', '15');
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const run = (hosts: string) =>
      spawnSync('bash', ['-c', `${definitions}\nPRIVATE_IP=10.0.1.5 NODE_NAME=db-1\nfill_tokens "$PATRONI_YML"`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, CLOUDSEED_ETCD_HOSTS: hosts },
      });
    const filled = run('10.0.1.4 10.0.1.5 10.0.1.6');
    expect(filled.status).toBe(0);
    const config = JSON.parse(filled.stdout.replace(/^#.*\n/, '')) as { name: string; etcd3: { hosts: string[] }; restapi: { listen: string } };
    expect(config.name).toBe('db-1');
    expect(config.restapi.listen).toBe('10.0.1.5:8008');
    expect(config.etcd3.hosts).toEqual(['10.0.1.4:2379', '10.0.1.5:2379', '10.0.1.6:2379']);
    // Passwords are filled in only after they are read from Parameter Store, never here.
    expect(filled.stdout).toContain('@replication-password@');
    expect(run('10.0.1.4 10.0.1.5').status).not.toBe(0);
    expect(run('10.0.1.4 10.0.1.5 10.0.0.0/8').status).not.toBe(0);
  });

  it("lets every member's address replicate and rewind, since any of them may lead", () => {
    const { configure } = scripts('debian', '12', '15');
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const hba = spawnSync('bash', ['-c', `${definitions}\nrender_hba`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CLOUDSEED_REPLICA_HOSTS: '10.0.1.4 10.0.1.5 10.0.1.6' },
    });
    expect(hba.status).toBe(0);
    const rules = hba.stdout.split('\n').filter((line) => line.startsWith('hostssl'));
    expect(rules.map((line) => line.split(/\s+/).slice(0, 5).join(' '))).toEqual([
      'hostssl app app 203.0.113.0/24 scram-sha-256',
      'hostssl app app 127.0.0.1/32 scram-sha-256',
      'hostssl replication replicator 10.0.1.4/32 scram-sha-256',
      'hostssl postgres cloudseed_rewind 10.0.1.4/32 scram-sha-256',
      'hostssl replication replicator 10.0.1.5/32 scram-sha-256',
      'hostssl postgres cloudseed_rewind 10.0.1.5/32 scram-sha-256',
      'hostssl replication replicator 10.0.1.6/32 scram-sha-256',
      'hostssl postgres cloudseed_rewind 10.0.1.6/32 scram-sha-256',
    ]);
  });

  it('on a re-deploy, patches the shared settings into Patroni and restarts the pending members, replicas first when a limit rises', () => {
    const { configure } = scripts('debian', '12', '15');
    expect(configure).toContain('"max_connections":"100"');
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const answer = JSON.stringify({
      members: [
        { name: 'db-0', role: 'leader', state: 'running', api_url: 'http://10.0.1.4:8008/patroni', pending_restart: true },
        { name: 'db-1', role: 'replica', state: 'streaming', api_url: 'http://10.0.1.5:8008/patroni', pending_restart: true },
        { name: 'db-2', role: 'replica', state: 'streaming', api_url: 'http://10.0.1.6:8008/patroni' },
      ],
    });
    const stubs = [
      'PATRONI_DIR="$(mktemp -d)"; PRIVATE_IP=10.0.1.4',
      'rest_call() { echo "$1 $2 $3"; }; sleep() { :; }; run_sql() { echo "$CURRENT"; }; curl() { printf "%s" "$ANSWER"; }',
      'PATRONI_DCS="$DCS"',
      'apply_cluster_settings',
    ].join('\n');
    const run = (current: string, wanted: string) =>
      spawnSync('bash', ['-c', `${definitions}\n${stubs}`], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          CURRENT: current,
          DCS: JSON.stringify({ postgresql: { parameters: { max_connections: wanted } } }),
          ANSWER: answer,
        },
      });
    const raised = run('100', '200');
    expect(raised.status).toBe(0);
    expect(raised.stdout.trim().split('\n')).toEqual([
      'PATCH http://10.0.1.4:8008/config {"postgresql":{"parameters":{"max_connections":"200"}}}',
      'POST http://10.0.1.5:8008/restart {"restart_pending": true}',
      'POST http://10.0.1.4:8008/restart {"restart_pending": true}',
    ]);
    expect(run('200', '100').stdout.trim().split('\n').slice(1)).toEqual([
      'POST http://10.0.1.4:8008/restart {"restart_pending": true}',
      'POST http://10.0.1.5:8008/restart {"restart_pending": true}',
    ]);
  });

  it("configures a replica only once the leader lists it in etcd's failsafe key", () => {
    const { configure } = scripts('debian', '12', '15');
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const run = (failsafe: string) =>
      spawnSync(
        'bash',
        ['-c', `${definitions}\nPRIVATE_IP=10.0.1.5 NODE_NAME=db-1\nsleep() { :; }; curl() { printf '%s' "$FAILSAFE"; }\nwait_in_failsafe`],
        { encoding: 'utf8', env: { PATH: process.env.PATH, FAILSAFE: failsafe } },
      );
    expect(run('{"db-0": "http://10.0.1.4:8008/patroni", "db-1": "http://10.0.1.5:8008/patroni"}').status).toBe(0);
    const missing = run('{"db-0": "http://10.0.1.4:8008/patroni"}');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('the leader did not list db-1 in the failsafe key within 60 s');
    expect(configure).toContain('  if [ -n "$PATRONI" ]; then wait_in_failsafe; fi\n  echo "PostgreSQL replica configured');
    // The refusal runs the wait's 60 rounds, each a python3 process: seconds on a busy machine.
  }, 60_000);

  it('wakes Patroni with a no-op PATCH /config every second while the server does not answer, and not while it does', () => {
    const { configure } = scripts('debian', '12', '15');
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const dir = mkdtempSync(join(tmpdir(), 'cloudseed-wake-'));
    try {
      // Fakes: pg_isready answers $READY; curl logs its arguments; the second sleep ends the loop.
      mkdirSync(join(dir, 'bin'));
      const fake = (name: string, body: string) => writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      fake('pg_isready', 'exit "$READY"');
      fake('curl', `printf '%s\\n' "$@" >> '${dir}/curl.log'`);
      fake('sleep', `[ -f '${dir}/slept' ] && exit 1; touch '${dir}/slept'`);
      const setUp = spawnSync(
        'bash',
        [
          '-c',
          `${definitions}
PATRONI_DIR='${dir}' PG_BIN='${dir}/bin' PRIVATE_IP=10.0.1.5
read_password() { printf 's3cret'; }
write_private() { printf '%s\\n' "$2" > "$1"; }
install_unit() { cat > '${dir}/unit'; }
systemctl() { :; }
configure_wake`,
        ],
        { encoding: 'utf8', env: { PATH: process.env.PATH } },
      );
      expect(setUp.status, setUp.stderr).toBe(0);
      expect(readFileSync(join(dir, 'rest.curlrc'), 'utf8')).toBe('user = "cloudseed:s3cret"\n');
      const unit = readFileSync(join(dir, 'unit'), 'utf8');
      expect(unit).toContain('BindsTo=cloudseed-patroni.service');
      expect(unit).toContain(`ExecStart=/bin/bash ${dir}/wake.sh`);
      const wake = (ready: string) => {
        rmSync(join(dir, 'slept'), { force: true });
        rmSync(join(dir, 'curl.log'), { force: true });
        spawnSync('bash', [join(dir, 'wake.sh')], { encoding: 'utf8', env: { PATH: `${dir}/bin:${process.env.PATH}`, READY: ready } });
        return existsSync(join(dir, 'curl.log')) ? readFileSync(join(dir, 'curl.log'), 'utf8').trim().split('\n') : [];
      };
      expect(wake('2')).toEqual([
        '-s',
        '-m',
        '2',
        '-K',
        `${dir}/rest.curlrc`,
        '-o',
        '/dev/null',
        '-X',
        'PATCH',
        '-H',
        'Content-Type: application/json',
        '--data',
        '{"ttl": 20}',
        'http://10.0.1.5:8008/config',
      ]);
      // Accepting connections (0) or starting up (1): Patroni is left alone.
      expect(wake('0')).toEqual([]);
      expect(wake('1')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads every password on the node from Parameter Store and creates the rewind role with only its grants', () => {
    const { configure } = scripts('amazon-linux', '2023', '17');
    expect(configure).toContain("REST_PASSWORD_PARAMETER='/cloudseed/p-1/db/patroni-password'");
    expect(configure).toContain("REWIND_PASSWORD_PARAMETER='/cloudseed/p-1/db/rewind-password'");
    expect(configure).toContain('rest="$(read_password "$REST_PASSWORD_PARAMETER" "the Patroni password parameter")"');
    expect(configure).toContain('ALTER ROLE :"rewind_user" WITH LOGIN NOSUPERUSER NOREPLICATION PASSWORD :\'rewind_verifier\';');
    expect(configure).toContain("'pg_catalog.pg_read_binary_file(text)'");
    // A Patroni replica is cloned by Patroni, never by pg_basebackup behind its back.
    expect(configure).toContain('if [ -n "$CLUSTERED" ] && [ -z "$PATRONI" ] && [ "$NODE_ROLE" = replica ]');
    expect(configure).toContain('ExecStart=/usr/bin/patroni $PATRONI_CONFIG_FILE');
    expect(configure).toContain('systemctl disable "$SERVICE"');
    // Debian's umbrella postgresql.service would otherwise start the cluster beside Patroni at boot.
    expect(configure).toContain('if [ -f "$CONF_DIR/start.conf" ]; then printf \'manual\\n\' >"$CONF_DIR/start.conf"; fi');
    expect(configure).toContain('if [ "$(uname -m)" = aarch64 ]; then environment=\'Environment=ETCD_UNSUPPORTED_ARCH=arm64\'; fi');
  });
});
