import { spawnSync } from 'node:child_process';
import { postgresComponents } from '../src/cs-json/components.ts';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  amiParameter,
  cheapestFit,
  findOs,
  monthlyCost,
  renderAwsJson,
  renderConfigureScript,
  renderInstallScript,
  renderLocalJson,
  renderPgHba,
  shellQuote,
  tune,
  validatePlan,
} from '../src/index.ts';
import type { OsImage, Plan } from '../src/index.ts';
import { DATABASE_SAMPLE_SQL } from '../src/metrics/database-sample.ts';
import { SCRIPT_FOLDER } from '../src/targets/aws/scripts.ts';

function plan(component: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Plan {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [{ id: 'db', type: 'postgres', network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48'] }, ...component }],
    ...extra,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

describe('renderAwsJson', () => {
  it('is deterministic: the same plan renders to byte-identical JSON whatever its key order', () => {
    const first = JSON.stringify(renderAwsJson(plan(), { planId: 'p-1' }));
    const reordered = validatePlan({
      components: [{ network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48'] }, type: 'postgres', id: 'db' }],
      target: { region: 'eu-central-1', cloud: 'aws' },
      name: 'orders',
      apiVersion: 'cs/v1',
    });
    if (!reordered.ok) throw new Error('fixture is invalid');
    expect(JSON.stringify(renderAwsJson(reordered.plan, { planId: 'p-1' }))).toBe(first);
    expect(JSON.stringify(renderAwsJson(plan(), { planId: 'p-1' }))).toBe(first);
  });

  it("launches with IMDSv2 required, an encrypted gp3 root of the plan's size, tags and no key pair", () => {
    const rendered = renderAwsJson(plan({ hardware: { storage: { sizeGiB: 250 }, aws: { instanceType: 'm7i.large' } } }), { planId: 'p-1' });
    const component = only(rendered.components);
    expect(component.runInstances).toEqual({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      InstanceType: 'm7i.large',
      MinCount: 1,
      MaxCount: 1,
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'disabled' },
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/xvda',
          Ebs: { VolumeType: 'gp3', VolumeSize: 250, Encrypted: true, DeleteOnTermination: true, Iops: 3000, Throughput: 125 },
        },
      ],
      DisableApiTermination: false,
      InstanceInitiatedShutdownBehavior: 'stop',
    });
    expect(component.runInstances).not.toHaveProperty('KeyName');
    expect(only(component.nodes).tags).toEqual([
      { Key: 'cloudseed:managed', Value: 'true' },
      { Key: 'cloudseed:plan-id', Value: 'p-1' },
      { Key: 'cloudseed:component', Value: 'db' },
      { Key: 'cloudseed:node', Value: 'db-0' },
      { Key: 'cloudseed:role', Value: 'primary' },
      { Key: 'Name', Value: 'orders/db-0' },
    ]);
    expect(rendered.region).toBe('eu-central-1');
  });

  it('picks the cheapest catalog type that fits when there is no hint, with the AMI of its architecture', () => {
    const component = only(renderAwsJson(plan({ hardware: { cpus: 2, memoryGiB: 8 } }), { planId: 'p-1' }).components);
    const expected = cheapestFit({ cpus: 2, memoryGiB: 8 })!;
    expect(component.instanceType).toBe(expected.name);
    expect(component.architecture).toBe(expected.architecture);
    expect(component.runInstances.ImageId).toBe(`resolve:ssm:${amiParameter(findOs('amazon-linux', '2023')!, expected.architecture)}`);
  });

  it("uses a pinned AMI and the OS's root device", () => {
    const component = only(
      renderAwsJson(
        plan({ os: { name: 'ubuntu', version: '24.04' }, hardware: { aws: { instanceType: 't3.large', ami: 'ami-0123456789abcdef0' } } }),
        {
          planId: 'p-1',
        },
      ).components,
    );
    expect(component.runInstances.ImageId).toBe('ami-0123456789abcdef0');
    expect(component.runInstances.BlockDeviceMappings).toMatchObject([{ DeviceName: '/dev/sda1' }]);
  });

  it("opens 5432 to the plan's allowedCidrs and nothing else", () => {
    const component = only(renderAwsJson(plan(), { planId: 'p-1' }).components);
    expect(component.securityGroup.IpPermissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
      },
    ]);
    expect(only(renderAwsJson(plan({ network: { allowedCidrs: [] } }), { planId: 'p-1' }).components).securityGroup.IpPermissions).toEqual([]);
  });

  it('lists a primary and its replicas for a cluster and prices every node', () => {
    const component = only(
      renderAwsJson(
        plan({ hardware: { aws: { instanceType: 'r7g.large' }, storage: { sizeGiB: 100 } }, db: { topology: { mode: 'cluster', replicas: 2 } } }),
        {
          planId: 'p-1',
        },
      ).components,
    );
    expect(component.nodes.map((node) => [node.name, node.role])).toEqual([
      ['db-0', 'primary'],
      ['db-1', 'replica'],
      ['db-2', 'replica'],
    ]);
    expect(component.securityGroup.replicationBetweenNodes).toBe(true);
    // Three nodes fail over by themselves, behind a Network Load Balancer: 0.0225 × 730 = 16.425 → 16.43.
    const nodes = monthlyCost(cheapestFit({ cpus: 2, memoryGiB: 16, architecture: 'arm64' })!, 100, 3);
    expect(component.cost).toEqual({
      ...nodes,
      loadBalancerUsd: 16.43,
      totalUsd: Math.round((nodes.totalUsd + 16.43) * 100) / 100,
      basis: `${nodes.basis}, and a Network Load Balancer at $0.0225/h (capacity units not included)`,
    });
  });

  it('carries the pgtune settings, the backup schedule and the password parameter name, never a password', () => {
    const rendered = renderAwsJson(plan({ hardware: { aws: { instanceType: 'm7g.xlarge' } }, db: { version: '16', maxConnections: 200 } }), {
      planId: 'p-1',
    });
    const component = only(rendered.components);
    expect(component.postgres.settings).toEqual(
      tune({ pgMajor: 16, memoryKb: 16 * 1024 * 1024, cpus: 4, connections: 200, workload: 'web', storage: 'ssd', dataSize: 'mid_ram' }).settings,
    );
    expect(component.postgres.settings).toMatchObject({ shared_buffers: '4GB', work_mem: '20560kB' });
    expect(component.backup).toEqual({
      enabled: true,
      cron: '0 3 * * *',
      scheduleExpression: 'cron(0 3 * * ? *)',
      timezone: 'UTC',
      retentionDays: 7,
      validate: true,
      s3Prefix: 'plans/p-1/db/',
    });
    expect(component.passwordParameter).toBe('/cloudseed/p-1/db/password');
    expect(JSON.stringify(rendered)).not.toMatch(/PASSWORD '/i);
    expect(rendered.monthlyCostUsd).toBe(component.cost.totalUsd);
  });
});

describe('postgresql.conf and pg_hba.conf', () => {
  it("writes pgtune's block, then a marked production block with TLS, scram and logging", () => {
    const conf = only(renderAwsJson(plan({ hardware: { aws: { instanceType: 'm7g.xlarge' } } }), { planId: 'p-1' }).components).postgres
      .postgresqlConf;
    const [tuned, rest] = conf.split('# --- CloudSeed production settings');
    const [production, archiving] = (rest ?? '').split('# --- CloudSeed continuous archiving');
    expect(tuned).toContain('# --- pgtune: web workload');
    expect(tuned).toContain('shared_buffers = 4GB\n');
    expect(tuned).toContain('max_connections = 100\n');
    expect(production).toContain("listen_addresses = '*'\n");
    expect(production).toContain('ssl = on\n');
    expect(production).toContain('password_encryption = scram-sha-256\n');
    expect(production).toContain("ssl_min_protocol_version = 'TLSv1.2'\n");
    expect(production).toContain('log_connections = on\n');
    expect(production).not.toContain('wal_level');
    // Every node archives through its own pgBackRest config, for the component's stanza.
    expect(archiving).toContain('\nwal_level = replica\narchive_mode = on\n');
    expect(archiving).toContain("archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=db archive-push %p'\n");
    expect(archiving).toContain('archive_timeout = 55\n');
  });

  it("archives even on a desktop workload, overriding pgtune's minimal WAL", () => {
    const conf = only(renderAwsJson(plan({ db: { workload: 'desktop' } }), { planId: 'p-1' }).components).postgres.postgresqlConf;
    expect(conf.lastIndexOf('wal_level = replica')).toBeGreaterThan(conf.indexOf('wal_level = minimal'));
    expect(conf.indexOf('wal_level = minimal')).toBeGreaterThan(-1);
  });

  it("turns WAL shipping back on for a cluster even on a desktop workload, after pgtune's minimal", () => {
    const conf = only(renderAwsJson(plan({ db: { workload: 'desktop', topology: { mode: 'cluster', replicas: 1 } } }), { planId: 'p-1' }).components)
      .postgres.postgresqlConf;
    expect(conf.indexOf('wal_level = minimal')).toBeGreaterThan(-1);
    expect(conf.indexOf('wal_level = replica')).toBeGreaterThan(conf.indexOf('wal_level = minimal'));
    expect(conf).toContain('hot_standby = on');
  });

  it("lets only TLS + SCRAM clients from the allowed networks reach the plan's database", () => {
    const hba = renderPgHba(postgresComponents(plan())[0]!, { replicationCidrs: ['10.0.0.0/16'] });
    const rules = hba
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(/\s+/));
    expect(rules).toEqual([
      ['local', 'all', 'postgres', 'peer'],
      ['local', 'all', 'app', 'peer', 'map=cloudseed-owner'],
      ['hostssl', 'app', 'app', '203.0.113.0/24', 'scram-sha-256'],
      ['hostssl', 'app', 'app', '2001:db8::/48', 'scram-sha-256'],
      ['hostssl', 'replication', 'replicator', '10.0.0.0/16', 'scram-sha-256'],
      ['host', 'all', 'all', '0.0.0.0/0', 'reject'],
      ['host', 'all', 'all', '::/0', 'reject'],
    ]);
    expect(hba).not.toMatch(/\btrust\b|\bmd5\b|\bpassword\b/);
  });
});

describe('install and configure scripts', () => {
  const images: [string, string, string][] = [
    ['amazon-linux', '2023', '17'],
    ['ubuntu', '24.04', '16'],
    ['ubuntu', '24.04', '18'],
    ['debian', '12', '15'],
    ['debian', '12', '13'],
  ];

  function scriptsFor(os: string, version: string, pg: string, topology: Record<string, unknown> = { mode: 'single', replicas: 0 }) {
    const component = postgresComponents(plan({ os: { name: os, version }, db: { version: pg, topology } }))[0]!;
    const image = findOs(os, version) as OsImage;
    return {
      install: renderInstallScript(component, image),
      configure: renderConfigureScript(component, image, { planId: 'p-1', region: 'eu-central-1', passwordParameter: '/cloudseed/p-1/db/password' }),
    };
  }

  it.each(images)('are shellcheck-clean for %s %s with PostgreSQL %s', (os, version, pg) => {
    const { install, configure } = scriptsFor(os, version, pg);
    for (const script of [install, configure]) {
      const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
      expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it.each(images)('are shellcheck-clean for a cluster on %s %s with PostgreSQL %s', (os, version, pg) => {
    const { configure } = scriptsFor(os, version, pg, { mode: 'cluster', replicas: 2 });
    const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: configure, encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it("configures replicas from the primary and lets only the replicas' addresses replicate", () => {
    // One replica streams without Patroni (three nodes and more run it: aws-patroni.test.ts).
    const { configure } = scriptsFor('debian', '12', '15', { mode: 'cluster', replicas: 1 });
    expect(configure).toContain('pg_basebackup --pgdata="$DATA_DIR" --wal-method=stream --write-recovery-conf');
    expect(configure).toContain("REPLICATION_PASSWORD_PARAMETER='/cloudseed/p-1/db/replication-password'");
    // Everything before the script's first command only assigns values and defines functions.
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const snippet = `${definitions}\nrender_hba`;
    const run = (hosts: string) =>
      spawnSync('bash', ['-c', snippet], { encoding: 'utf8', env: { PATH: process.env.PATH, CLOUDSEED_REPLICA_HOSTS: hosts } });

    const hba = run('10.0.1.5 10.0.2.6');
    expect(hba.status).toBe(0);
    const rules = hba.stdout.split('\n').filter((line) => line.startsWith('hostssl') || line.startsWith('host '));
    expect(rules.map((line) => line.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'hostssl app app 203.0.113.0/24',
      'hostssl app app 2001:db8::/48',
      'hostssl app app 127.0.0.1/32',
      'hostssl replication replicator 10.0.1.5/32',
      'hostssl replication replicator 10.0.2.6/32',
      'host all all 0.0.0.0/0',
      'host all all ::/0',
    ]);
    expect(hba.stdout).not.toContain('@cloudseed-replication-rules@');
    expect(run('10.0.1.5 0.0.0.0/0;reboot').status).not.toBe(0);
  });

  it.each(images)('parse as bash for %s %s with PostgreSQL %s', (os, version, pg) => {
    const { install, configure } = scriptsFor(os, version, pg);
    for (const script of [install, configure]) {
      expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    }
  });

  it("installs from the distribution or from the PostgreSQL project's repository as the OS table says", () => {
    const amazon = scriptsFor('amazon-linux', '2023', '17').install;
    expect(amazon).toContain("\nPACKAGES=('postgresql17-server' 'postgresql17-contrib')\n");
    expect(amazon).toContain('dnf install -y "${PACKAGES[@]}" openssl');
    // PGDG (empty or not) decides whether install.sh adds the PostgreSQL project's repository.
    expect(scriptsFor('debian', '12', '15').install).toContain("\nPGDG=''\n");
    const pgdg = scriptsFor('debian', '12', '17').install;
    expect(pgdg).toContain("\nPGDG='yes'\n");
    expect(pgdg).toContain(
      'if [ -n "$PGDG" ]; then\n    # The PostgreSQL project\'s own repository carries the majors the distribution does not.\n    /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
    );
    expect(pgdg).toContain("\nPACKAGES=('postgresql-17')\n");
    expect(pgdg).toContain('apt-get install -y -q "${PACKAGES[@]}"');
  });

  it("grows the root partition and file system to the volume's size on every configure", () => {
    const { configure } = scriptsFor('amazon-linux', '2023', '17');
    expect(configure).toContain('growpart "$ROOT_DISK" "$ROOT_PARTITION" || [ "$?" -eq 1 ]');
    expect(configure).toContain('xfs) xfs_growfs / ;;');
    expect(configure).toContain('ext4) resize2fs "$ROOT_SOURCE" ;;');
  });

  it('reads the password from the SecureString parameter and never puts it on a command line', () => {
    const { configure } = scriptsFor('amazon-linux', '2023', '17');
    expect(configure).toContain("PASSWORD_PARAMETER='/cloudseed/p-1/db/password'");
    expect(configure).toContain('aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption');
    expect(configure).toContain('DB_PASSWORD="$(read_password "$PASSWORD_PARAMETER" "the password parameter")"');
    expect(configure).not.toMatch(/-v\s+\S*password/i);
  });

  it("installs pgBackRest beside PostgreSQL: the distribution's on Debian, the PostgreSQL project's RHEL 9 build on Amazon Linux", () => {
    expect(scriptsFor('debian', '12', '15').install).toContain('apt-get install -y -q "${PACKAGES[@]}" pgbackrest\n');
    const amazon = scriptsFor('amazon-linux', '2023', '17').install;
    expect(amazon).toContain('baseurl=https://download.postgresql.org/pub/repos/yum/common/redhat/rhel-9-$basearch\n');
    expect(amazon).toContain('gpgcheck=1\n');
    expect(amazon).toContain('includepkgs=pgbackrest\n');
    expect(amazon).toContain('dnf install -y pgbackrest\n');
  });

  it("configures each node's own encrypted pgBackRest repository in the account's bucket, the passphrase only in the file", () => {
    const { configure } = scriptsFor('debian', '12', '15', { mode: 'cluster', replicas: 1 });
    expect(configure).toContain("CIPHER_PARAMETER='/cloudseed/p-1/db/archive-cipher-pass'\n");
    expect(configure).toContain("STANZA='db'\n");
    expect(configure).toContain('pgbackrest --config="$ARCHIVE_CONF_FILE" --stanza="$STANZA" stanza-create');
    // The rendered script holds the tokens, never a passphrase.
    expect(configure.match(/repo1-cipher-pass=.*/g)).toEqual(['repo1-cipher-pass=@cipher-pass@']);

    // The node's substitution, run: the bucket named after the instance's account, the passphrase from Parameter Store.
    const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
    const from = configure.indexOf('ARCHIVE_TEXT="${ARCHIVE_CONF/');
    const to = configure.indexOf('mv -f "$ARCHIVE_CONF_FILE.new" "$ARCHIVE_CONF_FILE"\n');
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
    const dir = mkdtempSync(join(tmpdir(), 'cloudseed-archive-conf-'));
    try {
      const secret = 'RepoPassphraseFromParameterStore1';
      const program = [
        definitions,
        `read_secret() { [ "$1" = "$CIPHER_PARAMETER" ] && printf '%s' '${secret}'; }`,
        'chown() { :; }',
        `ARCHIVE_CONF_FILE='${dir}/pgbackrest.conf'`,
        // The AWS prelude's archive_bucket, with the identity document the metadata service gives.
        `imds() { [ "$1" = dynamic/instance-identity/document ] && printf '%s' '{"accountId": "123456789012", "region": "eu-central-1"}'; }`,
        'ARCHIVE_BUCKET="$(archive_bucket)"',
        configure.slice(from, to),
        'mv -f "$ARCHIVE_CONF_FILE.new" "$ARCHIVE_CONF_FILE"',
      ].join('\n');
      const result = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const conf = readFileSync(join(dir, 'pgbackrest.conf'), 'utf8');
      expect(conf).toContain('\nrepo1-path=/pgbackrest/p-1\nrepo1-s3-bucket=cloudseed-backups-123456789012-eu-central-1\n');
      expect(conf).toContain(
        '\nrepo1-s3-endpoint=s3.eu-central-1.amazonaws.com\nrepo1-s3-region=eu-central-1\nrepo1-s3-uri-style=host\nrepo1-s3-key-type=auto\n',
      );
      expect(conf).toContain(`\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=${secret}\n`);
      expect(conf).toContain('\n[db]\npg1-path=/var/lib/postgresql/15/main\npg1-port=5432\npg1-socket-path=/run/postgresql\npg1-user=postgres\n');
      expect(conf).not.toContain('@');
      expect(statSync(join(dir, 'pgbackrest.conf')).mode & 0o777).toBe(0o640);
      expect(program).not.toContain(`repo1-cipher-pass=${secret}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('beats every 15 s on whichever node is out of recovery, and rebuilds a replica when told to', () => {
    const { configure } = scriptsFor('amazon-linux', '2023', '17', { mode: 'cluster', replicas: 1 });
    expect(configure).toContain("HEARTBEAT_SECONDS='15'\n");
    expect(configure).toContain('SELECT pg_catalog.pg_is_in_recovery()\')" = f ] || exit 0');
    expect(configure).toContain(
      'install_postgres_timer heartbeat "a heartbeat commit for point-in-time recovery" "$HEARTBEAT_SECONDS" /usr/local/sbin/cloudseed-heartbeat\n',
    );
    expect(configure).toContain('{ [ ! -f "$DATA_DIR/standby.signal" ] || [ -n "${CLOUDSEED_REBUILD_REPLICA:-}" ]; }');
  });

  it('sends PostgreSQL only SCRAM verifiers computed on the node, never a password in clear', () => {
    const { configure } = scriptsFor('debian', '12', '15', { mode: 'cluster', replicas: 1 });
    expect(configure).toContain('ALTER ROLE :"db_user" WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD :\'db_verifier\';');
    expect(configure).toContain('ALTER ROLE :"replication_user" WITH REPLICATION LOGIN PASSWORD :\'replication_verifier\';');
    expect(configure).not.toMatch(/PASSWORD :'\w*password'/);
    expect(configure).not.toMatch(/\\set \w*password/);
    expect(configure).not.toMatch(/openssl kdf/);
  });

  it("admits the application role from the VPC's ranges when apps of the plan use the database, before the rules that reject", () => {
    const component = postgresComponents(plan({ db: { version: '15' } }))[0]!;
    const image = findOs('amazon-linux', '2023') as OsImage;
    const context = { planId: 'p-1', region: 'eu-central-1', passwordParameter: '/cloudseed/p-1/db/password' };
    const hbaOf = (configure: string, cidrs: string) => {
      const block = configure.slice(configure.indexOf('HBA="$(render_hba)"'), configure.indexOf("# The server under the distribution's service"));
      const header = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
      return spawnSync('bash', ['-c', `${header}\nnetwork_ranges() { printf '%s\\n' "$CIDRS"; }\n${block}\nprintf '%s' "$HBA"`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, CIDRS: cidrs },
      });
    };

    const linked = hbaOf(renderConfigureScript(component, image, { ...context, admitVpc: true }), '172.31.0.0/16\n10.1.0.0/16');
    const alone = hbaOf(renderConfigureScript(component, image, context), '172.31.0.0/16');

    expect(linked.status).toBe(0);
    const lines = linked.stdout.split('\n');
    const first = lines.findIndex((line) => line.includes('172.31.0.0/16'));
    expect(lines[first]).toBe('hostssl  app  app  172.31.0.0/16  scram-sha-256');
    expect(lines[first + 1]).toBe('hostssl  app  app  10.1.0.0/16  scram-sha-256');
    expect(first).toBeLessThan(lines.findIndex((line) => line.includes('reject')));
    expect(alone.stdout).not.toContain('172.31.0.0/16');
    expect(alone.stdout).not.toContain('@cloudseed-app-rules@');
    expect(hbaOf(renderConfigureScript(component, image, { ...context, admitVpc: true }), 'not-a-cidr').stderr).toContain('is not an IPv4 CIDR');
  });

  // Four SCRAM verifiers computed in python3 (4,096 PBKDF2 rounds each): seconds on a busy machine.
  it(
    'refuses a password or replication password that is not CloudSeed-generated before it reaches psql or a pgpass line',
    { timeout: 60_000 },
    () => {
      const { configure } = scriptsFor('debian', '12', '15', { mode: 'cluster', replicas: 1 });
      const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));
      const readAs = (secret: string) =>
        spawnSync(
          'bash',
          [
            '-c',
            `${definitions}\nread_secret() { printf '%s' "$SECRET"; }\nread_password /p "the replication password parameter" | scram_verifier "$(cat)"`,
          ],
          {
            encoding: 'utf8',
            env: { PATH: process.env.PATH, SECRET: secret },
          },
        );

      const good = readAs('A1b2C3d4E5f6G7h8I9j0K1l2M3n4');
      expect(good.status).toBe(0);
      expect(good.stdout).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
      for (const bad of ['short1', 'A1b2C3d4E5f6G7h8I9j0K1l2:*:x', "A1b2C3d4E5f6G7h8I9j0K1l2M3n4'; DROP ROLE app; --"]) {
        const refused = readAs(bad);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toContain('the replication password parameter does not hold a CloudSeed-generated password');
      }
      const replica = configure.split('\n').find((line) => line.includes('REPLICATION_PASSWORD="$('));
      expect(replica).toContain('read_password "$REPLICATION_PASSWORD_PARAMETER"');
    },
  );

  it('lets only the postgres OS user log in as the application role over the socket, for restores', () => {
    const { configure } = scriptsFor('debian', '12', '15');
    expect(configure).toContain('printf \'%s\\n\' "$PG_IDENT" > "$CONF_DIR/pg_ident.conf"');
    // The map's last line closes the header's quoted PG_IDENT value.
    expect(configure).toMatch(/^cloudseed-owner\s+postgres\s+app'$/m);
    expect(configure).toMatch(/^local\s+all\s+app\s+peer map=cloudseed-owner$/m);
    expect(configure.match(/^local\s.*$/gm)).toEqual([
      expect.stringMatching(/^local\s+all\s+postgres\s+peer$/),
      expect.stringMatching(/^local\s+all\s+app\s+peer map=cloudseed-owner$/),
    ]);
  });

  it('pins the search path of every superuser session to pg_catalog before the first psql', () => {
    for (const topology of [
      { mode: 'single', replicas: 0 },
      { mode: 'cluster', replicas: 1 },
    ]) {
      const lines = scriptsFor('amazon-linux', '2023', '17', topology).configure.split('\n');
      expect(lines).toContain("PGOPTIONS='-c search_path=pg_catalog'");
      const pinned = lines.indexOf('export PGOPTIONS');
      expect(pinned).toBeGreaterThan(lines.indexOf("PGOPTIONS='-c search_path=pg_catalog'"));
      const clients = lines
        .map((line, index) => [line, index] as const)
        .filter(([line]) => /\b(psql|pg_basebackup|run_sql)\b/.test(line) && !line.startsWith('#'));
      expect(clients.length).toBeGreaterThan(1);
      for (const [line, index] of clients) {
        expect(index, line).toBeGreaterThan(pinned);
        expect(line).not.toMatch(/env -i|PGOPTIONS=|--login|runuser -l/);
      }
    }
  });

  it('install the metrics collector on AWS, with what it reads and a timer every minute', () => {
    const { configure } = scriptsFor('debian', '12', '15');
    const value = (name: string) => new RegExp(`^${name}='([A-Za-z0-9+/=]*)'$`, 'm').exec(configure)?.[1];
    const collector = Buffer.from(value('METRICS_COLLECTOR_BASE64') ?? '', 'base64').toString('utf8');
    expect(collector).toBe(readFileSync(new URL('collect-metrics.py', SCRIPT_FOLDER), 'utf8'));
    const config = JSON.parse(Buffer.from(value('METRICS_CONFIG_BASE64') ?? '', 'base64').toString('utf8')) as Record<string, string>;
    expect(config).toEqual({
      sink: 'cloudwatch',
      region: 'eu-central-1',
      namespace: 'CloudSeed/PostgreSQL',
      psql: '/usr/lib/postgresql/15/bin/psql',
      dataDir: '/var/lib/postgresql/15/main',
      sampleSql: DATABASE_SAMPLE_SQL.trim(),
    });
    expect(configure).toContain("METRICS_SECONDS='60'");
    expect(configure).toContain('install_postgres_timer metrics "the node\'s metrics, to the cloud" "$METRICS_SECONDS" "$metrics_command"\n');
    // On AWS the timer runs the collector itself; publish-metrics.sh is for the clouds without CloudWatch.
    expect(configure).not.toMatch(/^METRICS_PUBLISHER_BASE64=/m);
  });

  it('install a timer as a oneshot service run as postgres, enabled at once (configure.sh’s install_postgres_timer)', () => {
    const text = readFileSync(new URL('configure.sh', SCRIPT_FOLDER), 'utf8');
    const start = text.indexOf('install_postgres_timer() {');
    const helper = text.slice(start, text.indexOf('\n}\n', start) + 3);
    const units = mkdtempSync(join(tmpdir(), 'cs-units-'));
    try {
      const run = spawnSync(
        'bash',
        [
          '-c',
          `set -euo pipefail\nsystemctl() { printf '%s\\n' "$*" >> "${units}/systemctl.log"; }\n${helper.replaceAll('/etc/systemd/system', units)}\n` +
            'install_postgres_timer metrics "the node\'s metrics, to the cloud" 60 "/bin/bash /usr/local/lib/cloudseed/publish-metrics.sh"',
        ],
        { encoding: 'utf8', env: { ...process.env, PGOPTIONS: '-c search_path=pg_catalog' } },
      );
      expect(run.stderr).toBe('');
      expect(readFileSync(join(units, 'cloudseed-metrics.service'), 'utf8')).toBe(
        [
          '[Unit]',
          "Description=CloudSeed: the node's metrics, to the cloud",
          '',
          '[Service]',
          'Type=oneshot',
          'User=postgres',
          'Environment="PGOPTIONS=-c search_path=pg_catalog"',
          'ExecStart=/bin/bash /usr/local/lib/cloudseed/publish-metrics.sh',
          '',
        ].join('\n'),
      );
      const timer = readFileSync(join(units, 'cloudseed-metrics.timer'), 'utf8');
      expect(timer).toContain("Description=CloudSeed: the node's metrics, to the cloud, every 60 s\n");
      expect(timer).toContain('OnBootSec=60s\nOnUnitActiveSec=60s\nAccuracySec=1s\n');
      expect(timer).toContain('WantedBy=timers.target\n');
      expect((statSync(join(units, 'cloudseed-metrics.timer')).mode & 0o777).toString(8)).toBe('644');
      expect(readFileSync(join(units, 'systemctl.log'), 'utf8')).toBe('daemon-reload\nenable --now cloudseed-metrics.timer\n');
    } finally {
      rmSync(units, { recursive: true, force: true });
    }
  });

  it('are a header of quoted values, then the AWS prelude and the .sh files, verbatim', () => {
    const { install, configure } = scriptsFor('debian', '12', '15');
    const file = (name: string) => readFileSync(new URL(name, SCRIPT_FOLDER), 'utf8');
    for (const [script, body] of [
      [install, `${file('data-disk.sh')}\n${file('install.sh')}`],
      [configure, `${file('data-disk.sh')}\n${file('configure.sh')}`],
    ] as const) {
      expect(script.endsWith(`\n${file('prelude-aws.sh')}\n${body}`)).toBe(true);
      const header = script.slice(0, script.length - file('prelude-aws.sh').length - body.length - 2);
      // Past its first two lines (the shebang and what the script does) the header only assigns.
      const assignments = header.split('\n').slice(2).join('\n');
      expect(assignments).toMatch(
        /^(?:(?:# shellcheck disable=SC2016 # a literal value\n)?[A-Z][A-Z0-9_]*=(?:'(?:[^']|'\\'')*'|\((?:'[^']*' ?)*\))\n)+$/,
      );
    }
  });

  it('quotes values for bash so that nothing in them is run', () => {
    const hostile = "x'; touch /tmp/pwned; echo '$(id)`id`\"";
    const result = spawnSync('bash', ['-c', `printf %s ${shellQuote(hostile)}`], { encoding: 'utf8' });
    expect(result.stdout).toBe(hostile);
  });
});

describe('renderLocalJson', () => {
  it('keeps the tuning and adds loopback to pg_hba', () => {
    const local = renderLocalJson(plan({}, { target: { cloud: 'local' } }), { planId: 'p-1' });
    const component = only(local.components);
    expect(component.postgres.settings).toEqual(renderAwsJson(plan(), { planId: 'p-1' }).components[0]!.postgres.settings);
    expect(component.postgres.pgHbaConf).toMatch(/hostssl\s+app\s+app\s+127\.0\.0\.1\/32\s+scram-sha-256/);
    expect(component.nodes).toEqual([{ name: 'db-0', role: 'primary' }]);
  });
});
