import { spawnSync } from 'node:child_process';
import { postgresComponents } from '../src/cs-json/components.ts';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findOs, renderInstallScript, validatePlan } from '../src/index.ts';
import type { OsImage } from '../src/index.ts';

// The install script keeps the postgres OS user away from the instance metadata service (and so
// from the node role's credentials), at every boot.

const images: Array<[os: string, version: string, pg: string, installsIptables: string]> = [
  ['amazon-linux', '2023', '17', 'dnf install -y '],
  ['ubuntu', '24.04', '16', 'apt-get install -y -q postgresql-common ca-certificates openssl iptables'],
  ['debian', '12', '15', 'apt-get install -y -q postgresql-common ca-certificates openssl iptables'],
];

function installScript(os: string, version: string, pg: string): string {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'aws', region: 'eu-central-1' },
    components: [{ id: 'db', type: 'postgres', os: { name: os, version }, db: { version: pg }, network: { allowedCidrs: ['203.0.113.0/24'] } }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return renderInstallScript(postgresComponents(result.plan)[0]!, findOs(os, version) as OsImage);
}

/** The body of a here-document (`<<'NAME'` or `<<NAME` … `NAME`). */
function hereDocument(script: string, name: string): string {
  const lines = script.split('\n');
  const start = lines.findIndex((line) => line.endsWith(`<<'${name}'`) || line.endsWith(`<<${name}`));
  const end = lines.indexOf(name, start + 1);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return `${lines.slice(start + 1, end).join('\n')}\n`;
}

const IPV4_RULE = 'OUTPUT -d 169.254.169.254 -m owner --uid-owner postgres -j REJECT';
const IPV6_RULE = 'OUTPUT -d fd00:ec2::254 -m owner --uid-owner postgres -j REJECT';

describe('the install script’s metadata-service guard', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  it.each(images)(
    'on %s %s installs iptables and rejects the postgres user’s traffic to IMDS, at every boot before PostgreSQL',
    (os, version, pg, installsIptables) => {
      const script = installScript(os, version, pg);
      const image = findOs(os, version) as OsImage;

      const install = script.split('\n').find((line) => line.trimStart().startsWith(installsIptables))!;
      expect(install.split(' ')).toContain(image.packageManager === 'dnf' ? 'iptables-nft' : 'iptables');
      const guard = hereDocument(script, 'GUARD');
      expect(guard).toContain(`iptables -C ${IPV4_RULE} 2>/dev/null || iptables -A ${IPV4_RULE}`);
      expect(guard).toContain(`ip6tables -C ${IPV6_RULE} 2>/dev/null || ip6tables -A ${IPV6_RULE}`);
      const unit = hereDocument(script, 'UNIT');
      // The unit's here-document expands SERVICE, which the header assigns.
      expect(script).toContain(`\nSERVICE='${image.serviceName(Number(pg))}'\n`);
      expect(unit).toContain('Before=network-pre.target $SERVICE.service');
      expect(unit).toContain('ExecStart=/usr/local/sbin/cloudseed-imds-guard');
      expect(unit).toContain('WantedBy=multi-user.target');
      expect(script).toContain('systemctl enable cloudseed-imds-guard.service\nsystemctl restart cloudseed-imds-guard.service');
      // Installed before the script reports success.
      expect(script.indexOf('cloudseed-imds-guard.service\n')).toBeLessThan(script.indexOf('echo "PostgreSQL $PG_MAJOR and pgBackRest installed"'));
    },
  );

  it.each(images)('on %s %s is a shellcheck-clean POSIX sh script', (os, version, pg) => {
    const result = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], {
      input: hereDocument(installScript(os, version, pg), 'GUARD'),
      encoding: 'utf8',
    });
    expect(result.error, 'shellcheck must be installed (apt-get install shellcheck)').toBeUndefined();
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('adds each rule once, however often it runs', () => {
    const directory = mkdtempSync(join(tmpdir(), 'cloudseed-imds-guard-'));
    directories.push(directory);
    const rules = join(directory, 'rules');
    writeFileSync(rules, '');
    // A fake iptables/ip6tables keeping its rules in a file: -C answers whether one is there, -A appends it.
    const fake = `#!/bin/sh\nop="$1"; shift\nrule="$(basename "$0") $*"\nif [ "$op" = -C ]; then grep -qxF -- "$rule" '${rules}'; exit; fi\necho "$rule" >> '${rules}'\n`;
    for (const name of ['iptables', 'ip6tables']) {
      writeFileSync(join(directory, name), fake);
      chmodSync(join(directory, name), 0o755);
    }
    const guard = join(directory, 'guard');
    writeFileSync(guard, hereDocument(installScript('debian', '12', '15'), 'GUARD'));
    const run = () => spawnSync('sh', [guard], { encoding: 'utf8', env: { PATH: `${directory}:${process.env.PATH ?? ''}` } });

    expect(run().status).toBe(0);
    expect(run().status).toBe(0);

    const expected = [`iptables ${IPV4_RULE}`];
    if (spawnSync('test', ['-e', '/proc/net/if_inet6']).status === 0) expected.push(`ip6tables ${IPV6_RULE}`);
    expect(readFileSync(rules, 'utf8').trim().split('\n')).toEqual(expected);
  });
});
