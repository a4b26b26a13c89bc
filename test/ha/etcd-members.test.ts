import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAwsJson, validatePlan } from '@cloudseed/shared';

// The etcd members of a Patroni cluster on EC2, with real etcd 3.4 processes on loopback addresses
// standing in for the nodes' private ones: configure's etcd_cluster_state starts the first members
// as a new cluster, lets a late one join it, and puts a node that replaced a member (a new address,
// no data) in the old member's place. Only the systemd calls are stood in for.

const result = validatePlan({
  apiVersion: 'cs/v1',
  name: 'orders',
  target: { cloud: 'aws', region: 'eu-central-1' },
  components: [
    { id: 'db', type: 'postgres', os: { name: 'debian', version: '12' }, db: { version: '15', topology: { mode: 'cluster', replicas: 2 } } },
  ],
});
if (!result.ok) throw new Error(JSON.stringify(result.errors));
const configure = renderAwsJson(result.plan, { planId: 'p-1' }).components[0]!.scripts.configure;
const definitions = configure.slice(0, configure.indexOf('# A re-deploy may have grown the disk'));

const root = mkdtempSync(join(tmpdir(), 'cloudseed-etcd-'));
const running = new Map<number, ChildProcess>();

afterAll(() => {
  for (const child of running.values()) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Runs configure_etcd_member for member `index` on the node at `address`; returns the command its unit starts. */
function configureMember(index: number, address: string, hosts: readonly string[]): string {
  const dataDir = join(root, `member-${index}-${address}`);
  const unit = join(root, `unit-${index}`);
  const script = `${definitions}
ETCD_DATA_DIR='${dataDir}'
for args in ETCD_ARGS_0 ETCD_ARGS_1 ETCD_ARGS_2; do eval "$args=(\\"\\\${$args[@]/--data-dir=*/--data-dir=${dataDir}}\\")"; done
PRIVATE_IP='${address}' NODE_NAME='db-${index}' CLOUDSEED_ETCD_MEMBER='${index}' CLOUDSEED_ETCD_HOSTS='${hosts.join(' ')}'
id() { :; }
install() { mkdir -p "\${@: -1}"; }
install_unit() { cat > '${unit}'; }
etcd_unit_file() { printf '%s' '${unit}'; }
systemctl() { :; }
configure_etcd_member`;
  const run = spawnSync('bash', ['--norc', '--noprofile', '-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  expect(run.status, run.stderr).toBe(0);
  const command = /^ExecStart=(.*)$/m.exec(readFileSync(unit, 'utf8'))?.[1];
  if (!command) throw new Error('the unit has no ExecStart');
  return command;
}

function start(index: number, command: string): void {
  const [binary, ...args] = command.trim().split(/\s+/);
  running.get(index)?.kill('SIGKILL');
  running.set(index, spawn(binary!, args, { stdio: 'ignore', env: { PATH: process.env.PATH } }));
}

async function members(address: string): Promise<{ name?: string; peerURLs: string[]; clientURLs?: string[] }[]> {
  const answer = await fetch(`http://${address}:2379/v3/cluster/member/list`, { method: 'POST', body: '{}' });
  return ((await answer.json()) as { members: { name?: string; peerURLs: string[]; clientURLs?: string[] }[] }).members;
}

/** Until every member in the list is started (named, with a client URL) and `expected` in number. */
async function untilStarted(address: string, expected: number): Promise<{ name?: string; peerURLs: string[] }[]> {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const list = await members(address).catch(() => []);
    if (list.length === expected && list.every((member) => member.name && member.clientURLs?.length)) return list;
    await delay(500);
  }
  throw new Error(`etcd at ${address} did not list ${expected} started members`);
}

/** Until the member at `address` has a quorum behind it. */
async function untilHealthy(address: string): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const health = await fetch(`http://${address}:2379/health`)
      .then((answer) => answer.json() as Promise<{ health?: string }>)
      .catch(() => undefined);
    if (health?.health === 'true') return;
    await delay(500);
  }
  throw new Error(`etcd at ${address} has no quorum`);
}

describe("a Patroni cluster's etcd members on EC2", () => {
  const first = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];

  it('starts the first members as a new cluster and lets the last one join it once the others formed it', async () => {
    const zero = configureMember(0, first[0]!, first);
    const one = configureMember(1, first[1]!, first);
    expect(zero).toContain('--initial-cluster-state=new');
    expect(one).toContain('--initial-cluster-state=new');
    start(0, zero);
    start(1, one);
    await untilHealthy(first[0]!);

    const two = configureMember(2, first[2]!, first);
    expect(two).toContain('--initial-cluster-state=existing');
    start(2, two);

    const list = await untilStarted(first[0]!, 3);
    expect(list.map((member) => member.name).sort()).toEqual(['db-0', 'db-1', 'db-2']);
  }, 60_000);

  it('puts a node that replaced a member, at a new address and without data, in the old member’s place', async () => {
    running.get(0)?.kill('SIGKILL');
    running.delete(0);
    const replaced = ['127.0.0.24', first[1]!, first[2]!];

    const zero = configureMember(0, replaced[0]!, replaced);
    expect(zero).toContain('--initial-cluster-state=existing');
    expect(zero).toContain('--listen-peer-urls=http://127.0.0.24:2380');
    start(0, zero);

    const list = await untilStarted(first[1]!, 3);
    expect(list.find((member) => member.name === 'db-0')?.peerURLs).toEqual(['http://127.0.0.24:2380']);
    await untilHealthy('127.0.0.24');
    // The members that stayed keep their unit as it was (etcd ignores the list once it has data): no restart.
    const before = readFileSync(join(root, 'unit-1'), 'utf8');
    configureMember(1, first[1]!, replaced);
    expect(readFileSync(join(root, 'unit-1'), 'utf8')).toBe(before);
  }, 60_000);
});
