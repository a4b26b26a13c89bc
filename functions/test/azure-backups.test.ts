import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../providers/errors.ts';
import type { BackupLocation, DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { archived, archiveReport, info, LABEL, manifest, recorded, SHA, summary, tables } from './support/archive-fixtures.ts';
import type { FakeArm, RecordedRequest } from './support/azure-arm.ts';
import { azureProvider, azureTarget, blobStorage as storage, documentOf, seededArm } from './support/azure-fixtures.ts';

// Backups, continuous archiving and point-in-time recovery on Azure: the operations every cloud
// shares (providers/node-backups) as managed run commands on the in-memory ARM of
// support/azure-arm.ts, and Blob Storage's own client on the wire, met by nock: what each run
// command is sent, which blobs are read and removed and with what. The scripts themselves run
// against loopback fakes of Blob Storage in azure-prelude.test.ts.

let plans = 0;
const nextPlanId = (): string => `bk-${(plans += 1)}`;

const CONTAINER = 'cloudseed-backups';

let arm: FakeArm;
let provider: Provider;
let target: DeployTarget;
let key: string;
let location: BackupLocation;
let blobHost: string;
/** Blob requests as sent: method and path (the container and the key, percent-encoded as on the wire). */
let blobRequests: string[];

/** The backup container's blobs, met on the wire (support/azure-fixtures.ts), requests recorded in blobRequests. */
function blobStorage(blobs: Map<string, string>): void {
  storage(blobHost, CONTAINER, blobs, blobRequests);
}

async function deploy(deployTarget = target): Promise<NodeRef[]> {
  await provider.preflight(deployTarget);
  await provider.ensurePassword(deployTarget);
  return provider.launchNodes(deployTarget, await provider.ensureSecurityGroup(deployTarget));
}

/** The run command `name` ends on the VM as `view` says; its standard output carries `result` as the scripts print it. */
function finishes(vm: string, name: string, result: unknown, exitCode = 0, error = ''): void {
  arm.runViews.set(`${vm}/runCommands/${name}`, {
    executionState: 'Succeeded',
    exitCode,
    output: result === undefined ? '' : `CLOUDSEED_RESULT ${JSON.stringify(result)}\n`,
    error,
  });
}

/** The script and the parameters of the last write of run command `name` on the VM. */
function sent(vm: string, name: string): { script: string; parameters: Array<{ name: string; value: string }> } {
  const writes = arm.writes().filter((request) => request.path === `${vm}/runCommands/${name}`);
  const body = writes.at(-1)!.body as { properties: { source: { script: string }; parameters?: Array<{ name: string; value: string }> } };
  return { script: body.properties.source.script, parameters: body.properties.parameters ?? [] };
}

beforeEach(() => {
  nock.disableNetConnect();
  arm = seededArm();
  provider = azureProvider(arm);
  target = azureTarget(nextPlanId());
  key = `plans/${target.planId}/db/b-1.dump`;
  location = { bucket: CONTAINER, key };
  blobHost = `https://${documentOf(target).backup.storageAccount.name}.blob.core.windows.net`;
  blobRequests = [];
});

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('logical backups on Azure', () => {
  it('runs backup.sh on the primary as a run command with the Azure prelude, and reads the manifest it stored', async () => {
    const [primary] = await deploy();
    blobStorage(new Map([[`${key}.manifest.json`, manifest]]));
    finishes(primary!.nodeId, 'cloudseed-backup', summary);

    expect(await provider.backup(target, primary!, location)).toEqual(recorded);
    const { script, parameters } = sent(primary!.nodeId, 'cloudseed-backup');
    const document = documentOf(target);
    expect(script).toContain("TASK='backup'");
    expect(script).toContain(`BUCKET='${CONTAINER}'`);
    expect(script).toContain(`KEY='${key}'`);
    expect(script).toContain(`STORAGE_ACCOUNT='${document.backup.storageAccount.name}'`);
    expect(script).toContain(`VAULT='${document.keyVault.name}'`);
    expect(script).not.toContain('aws s3');
    // Each run is a change to the run command, so Azure runs it again even with the same script.
    // A result too long for the output Run Command keeps goes to the blob named here.
    expect(parameters).toEqual([
      { name: 'CLOUDSEED_RUN', value: expect.stringMatching(/^\d+$/) as unknown },
      { name: 'CLOUDSEED_RESULT_KEY', value: expect.stringMatching(new RegExp(`^plans/${target.planId}/db/results/backup-\\d+\\.json$`)) as unknown },
    ]);
    expect(blobRequests).toEqual([`HEAD ${key}.manifest.json`, `GET ${key}.manifest.json`]);
  });

  it('fails with what the script said and removes every blob of the backup', async () => {
    const [primary] = await deploy();
    const blobs = new Map([[key, 'half a dump']]);
    blobStorage(blobs);
    finishes(primary!.nodeId, 'cloudseed-backup', undefined, 1, 'pg_dump: error: connection to server failed');

    const error = await provider.backup(target, primary!, location).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/cloudseed-backup failed on .* \(exit 1\): pg_dump: error: connection to server failed/);
    expect(blobRequests).toEqual([key, `${key}.globals.sql`, `${key}.manifest.json`, `${key}.validation.json`].map((blob) => `DELETE ${blob}`));
    expect(blobs.size).toBe(0);
  });

  it('validates and restores what exists, and says so when the backup blob is gone', async () => {
    const [primary] = await deploy();
    blobStorage(
      new Map([
        [key, 'dump'],
        [`${key}.validation.json`, JSON.stringify({ tables })],
      ]),
    );
    finishes(primary!.nodeId, 'cloudseed-backup-validation', { status: 'restored', sha256: SHA, tableCount: 2 });
    expect((await provider.validateBackup(target, primary!, location, recorded)).status).toBe('passed');
    expect(sent(primary!.nodeId, 'cloudseed-backup-validation').script).toContain(`RECORDED_SHA256='${SHA}'`);

    finishes(primary!.nodeId, 'cloudseed-restore', { status: 'restored', sha256: SHA });
    await provider.restoreBackup(target, primary!, location, recorded);
    expect(sent(primary!.nodeId, 'cloudseed-restore').script).toContain("TASK='restore'");

    const gone = { bucket: CONTAINER, key: `plans/${target.planId}/db/b-2.dump` };
    expect(await provider.validateBackup(target, primary!, gone, recorded)).toEqual({
      status: 'failed',
      detail: `the backup object ${blobHost}/${CONTAINER}/${gone.key} does not exist`,
    });
    await expect(provider.restoreBackup(target, primary!, gone, recorded)).rejects.toThrow(/does not exist; nothing was restored/);
  });

  it('deletes every blob of a backup, and refuses a container name Blob Storage would not take', async () => {
    const blobs = new Map([
      [key, 'dump'],
      [`${key}.manifest.json`, manifest],
    ]);
    blobStorage(blobs);
    await provider.deleteBackup(target, location);
    expect(blobs.size).toBe(0);
    await expect(provider.deleteBackup(target, { bucket: 'Backups_1', key })).rejects.toThrow(/is not a Blob Storage container name/);
  });

  it("backs up a Patroni cluster on its leader now, as Patroni's view of the cluster says", async () => {
    const cluster = azureTarget(nextPlanId(), { replicas: 2 });
    const nodes = await deploy(cluster);
    blobHost = `https://${documentOf(cluster).backup.storageAccount.name}.blob.core.windows.net`;
    const clusterKey = `plans/${cluster.planId}/db/b-1.dump`;
    blobStorage(new Map([[`${clusterKey}.manifest.json`, manifest]]));
    const view = {
      members: [
        { name: 'db-0', role: 'replica', state: 'streaming', timeline: 2, lag: 0 },
        { name: 'db-1', role: 'leader', state: 'running', timeline: 2 },
        { name: 'db-2', role: 'replica', state: 'streaming', timeline: 2, lag: 0 },
      ],
    };
    arm.runViews.set(`${nodes[0]!.nodeId}/runCommands/cloudseed-patroni-state`, {
      executionState: 'Succeeded',
      exitCode: 0,
      output: JSON.stringify(view),
    });
    finishes(nodes[1]!.nodeId, 'cloudseed-backup', summary);

    await provider.backup(cluster, nodes[0]!, { bucket: CONTAINER, key: clusterKey });
    const backups = arm.writes().filter((request) => request.path.endsWith('/runCommands/cloudseed-backup'));
    expect(backups.map((request) => request.path)).toEqual([`${nodes[1]!.nodeId}/runCommands/cloudseed-backup`]);
  });
});

describe('continuous archiving on Azure', () => {
  it('makes a pgBackRest backup, reading the fingerprints from the container its config names, and refuses another', async () => {
    const [primary] = await deploy();
    const fingerprints = `plans/${target.planId}/db/archive/bk-1.fingerprints.json`;
    blobStorage(new Map([[fingerprints, JSON.stringify({ tables })]]));
    const report = archiveReport(CONTAINER);
    finishes(primary!.nodeId, 'cloudseed-archive-backup', report);

    expect(await provider.archiveBackup(target, primary!, { backupId: 'bk-1', type: 'full' })).toEqual(archived);
    expect(sent(primary!.nodeId, 'cloudseed-archive-backup').script).toContain(`KEY='${fingerprints}'`);

    finishes(primary!.nodeId, 'cloudseed-archive-backup', { ...report, bucket: 'elsewhere' });
    await expect(provider.archiveBackup(target, primary!, { backupId: 'bk-1', type: 'full' })).rejects.toThrow(
      /used bucket "elsewhere", which is not this account's CloudSeed backup bucket/,
    );
  });

  it('reads a result longer than Run Command keeps from the blob the output points to, then removes it', async () => {
    const [primary] = await deploy();
    const blobs = new Map<string, string>();
    blobStorage(blobs);
    const many = Array.from({ length: 40 }, (_, index) => ({ ...info[0]!.backup[0]!, label: `20300101-0000${String(index).padStart(2, '0')}F` }));
    const window = { latest: '2030-01-01T00:05:00.000000+00:00', info: [{ ...info[0]!, backup: [...many, info[0]!.backup[0]!] }] };
    // The node stores the result under the key it was given and prints a line that points to it.
    arm.runViews.set(`${primary!.nodeId}/runCommands/cloudseed-recovery-window`, {
      executionState: 'Succeeded',
      exitCode: 0,
      get output() {
        const key = sent(primary!.nodeId, 'cloudseed-recovery-window').parameters.find(
          (parameter) => parameter.name === 'CLOUDSEED_RESULT_KEY',
        )!.value;
        blobs.set(key, JSON.stringify(window));
        return `CLOUDSEED_RESULT {"resultKey":"${key}"}\n`;
      },
    });

    expect(await provider.recoveryWindow(target, primary!)).toEqual({
      earliest: '2030-01-01T00:01:01.000Z',
      latest: '2030-01-01T00:05:00.000000+00:00',
    });
    expect(blobRequests.map((request) => request.replace(/\d+\.json$/, 'N.json'))).toEqual([
      `HEAD plans/${target.planId}/db/results/recovery-window-N.json`,
      `GET plans/${target.planId}/db/results/recovery-window-N.json`,
      `DELETE plans/${target.planId}/db/results/recovery-window-N.json`,
    ]);
    expect(blobs.size).toBe(0);
  });

  it('reads the recovery window, restores a single server in place, and rebuilds a streaming replica from it', async () => {
    const pair = azureTarget(nextPlanId(), { replicas: 1 });
    const [primary, replica] = await deploy(pair);
    finishes(primary!.nodeId, 'cloudseed-recovery-window', { latest: '2030-01-01T00:05:00.000000+00:00', info });
    expect(await provider.recoveryWindow(pair, primary!)).toEqual({
      earliest: '2030-01-01T00:01:01.000Z',
      latest: '2030-01-01T00:05:00.000000+00:00',
    });

    finishes(primary!.nodeId, 'cloudseed-point-in-time-restore', { status: 'restored', timeline: 3 });
    await provider.restoreToPoint(pair, primary!, { kind: 'restore-point', name: 'cloudseed-bk-1', label: LABEL });
    expect(sent(primary!.nodeId, 'cloudseed-point-in-time-restore').script).toContain("TARGET='cloudseed-bk-1'");

    await provider.rebuildReplicas(pair, primary!, [replica!]);
    const { script, parameters } = sent(replica!.nodeId, 'cloudseed-rebuild-replica');
    expect(script).toBe(documentOf(pair).scripts.configure);
    expect(parameters.slice(0, 3)).toEqual([
      { name: 'CLOUDSEED_NODE_ROLE', value: 'replica' },
      { name: 'CLOUDSEED_PRIMARY_HOST', value: primary!.host },
      { name: 'CLOUDSEED_REBUILD_REPLICA', value: 'yes' },
    ]);
  });

  it('restores a Patroni cluster in place: dissolves it, restores the leader Patroni names with the cluster forgotten in etcd, forms it again; then clones the replicas', async () => {
    const cluster = azureTarget(nextPlanId(), { replicas: 2 });
    const nodes = await deploy(cluster);
    const [db0, db1] = nodes.map((node) => node.nodeId);
    const view = {
      members: [
        { name: 'db-0', role: 'replica', state: 'streaming', timeline: 2, lag: 0 },
        { name: 'db-1', role: 'leader', state: 'running', timeline: 2 },
        { name: 'db-2', role: 'replica', state: 'streaming', timeline: 2, lag: 0 },
      ],
    };
    arm.runViews.set(`${db0!}/runCommands/cloudseed-patroni-state`, { executionState: 'Succeeded', exitCode: 0, output: JSON.stringify(view) });
    finishes(db1!, 'cloudseed-point-in-time-restore', { status: 'restored', timeline: 3 });
    const runs = () => arm.writes().filter((request) => request.path.includes('/runCommands/') && !request.path.endsWith('/cloudseed-patroni-state'));
    const named = (request: RecordedRequest) =>
      `${request.path.split('/runCommands/')[1]} ${nodes.find((node) => request.path.startsWith(node.nodeId))!.name}`;
    const before = runs().length;

    await provider.restoreToPoint(cluster, nodes[0]!, { kind: 'time', time: '2030-01-01T00:03:00.000Z' });
    const restored = runs().slice(before);
    expect(restored.map(named)).toEqual([
      'cloudseed-dissolve db-0',
      'cloudseed-dissolve db-1',
      'cloudseed-dissolve db-2',
      'cloudseed-point-in-time-restore db-1',
      'cloudseed-configure db-1',
    ]);
    const parameters = (request: RecordedRequest) =>
      Object.fromEntries(
        ((request.body as { properties: { parameters?: Array<{ name: string; value: string }> } }).properties.parameters ?? []).map((p) => [
          p.name,
          p.value,
        ]),
      );
    const hosts = nodes.map((node) => node.host).join(' ');
    expect(parameters(restored[3]!)).toMatchObject({ CLOUDSEED_ETCD_HOSTS: hosts });
    expect(sent(db1!, 'cloudseed-point-in-time-restore').script).toContain('FORGET_REQUEST=');
    expect(parameters(restored[4]!)).toMatchObject({ CLOUDSEED_NODE_ROLE: 'primary', CLOUDSEED_NODE_NAME: 'db-1' });

    const rebuildFrom = runs().length;
    await provider.rebuildReplicas(cluster, nodes[1]!, [nodes[0]!, nodes[2]!]);
    const rebuilt = runs().slice(rebuildFrom);
    expect(rebuilt.map(named)).toEqual([
      'cloudseed-dissolve db-0',
      'cloudseed-dissolve db-2',
      'cloudseed-configure db-0',
      'cloudseed-configure db-2',
    ]);
    for (const request of rebuilt.slice(2))
      expect(parameters(request)).toMatchObject({ CLOUDSEED_NODE_ROLE: 'replica', CLOUDSEED_PRIMARY_HOST: nodes[1]!.host });
  });
});
