import { gcpBackupBucketName } from '@cloudseed/shared/targets/gcp/index';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../providers/errors.ts';
import type { BackupLocation, DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { archived, archiveReport, info, manifest, recorded, SHA, summary, tables } from './support/archive-fixtures.ts';
import { bootInstances, fakeProject, gcpProvider, gcpTarget, PROJECT, REGION, sleep } from './support/gcp-project.ts';
import type { FakeProject } from './support/gcp-project.ts';

// Backups, continuous archiving and point-in-time recovery on Google Cloud: the operations every
// cloud shares (providers/node-backups) through the GCP agent and Cloud Storage's client, against the
// in-memory project of support/gcp-project.ts. The agent is played by the test: each command written
// to a node's metadata ends as `answer` says, its result handed back as the agent's guest attribute.
// The scripts themselves run against loopback fakes of Cloud Storage in gcp-prelude.test.ts.

let project: FakeProject;
let provider: Provider;
let target: DeployTarget;

const BUCKET = gcpBackupBucketName(PROJECT, REGION);
const KEY = 'plans/p-1/db/bk-1.dump';
const location: BackupLocation = { bucket: BUCKET, key: KEY };
const url = (key: string) => `gs://${BUCKET}/${key}`;

interface Ran {
  readonly node: string;
  readonly id: string;
  readonly script: string;
}

/** What the agent does with a command: its exit code, what it reports, and what it stores on the way. */
type Answer = (ran: Ran) => { exit: number; result?: unknown; stderr?: string; store?: Record<string, string> };

let ran: Ran[];

/** Plays every node's agent: a command not seen before runs, once, and ends as `answer` says. */
function agent(answer: Answer): void {
  sleep.callsFake(() => {
    for (const [name, instance] of project.instances) {
      const value = instance.metadata?.items?.find((item) => item.key === 'cloudseed-command')?.value;
      if (!value) continue;
      const [id, encoded] = value.split('\n') as [string, string];
      if (ran.some((entry) => entry.id === id)) continue;
      const command = { node: name, id, script: Buffer.from(encoded, 'base64').toString('utf8') };
      ran.push(command);
      const { exit, result, stderr, store } = answer(command);
      for (const [key, body] of Object.entries(store ?? {})) project.objects.set(url(key), body);
      const attributes = project.guestAttributes.get(name)!;
      if (result !== undefined) attributes.set(`cloudseed/${id}`, JSON.stringify(result));
      if (stderr) attributes.set(`cloudseed/${id}-stderr`, stderr);
      attributes.set(`cloudseed/${id}-state`, `exit ${exit}`);
    }
    return Promise.resolve();
  });
}

async function deploy(deployTarget = target): Promise<NodeRef[]> {
  await provider.ensurePassword(deployTarget);
  const network = await provider.ensureSecurityGroup(deployTarget);
  const nodes = await provider.launchNodes(deployTarget, network);
  bootInstances(project);
  return nodes;
}

beforeEach(() => {
  sleep.resetHistory();
  project = fakeProject();
  provider = gcpProvider(project, { now: () => Date.now() });
  target = gcpTarget();
  ran = [];
});

afterEach(() => {
  sleep.resetBehavior();
  sleep.resolves();
});

describe('logical backups on Google Cloud', () => {
  it('runs backup.sh on the primary through its agent with the GCP prelude, and returns what it measured with the manifest’s fingerprints', async () => {
    const [primary] = await deploy();
    agent(() => ({ exit: 0, result: summary, store: { [`${KEY}.manifest.json`]: manifest } }));

    expect(await provider.backup(target, primary!, location)).toEqual(recorded);
    expect(ran).toHaveLength(1);
    const { node, id, script } = ran[0]!;
    expect(node).toBe(primary!.nodeId);
    expect(id).toMatch(/^backup-[0-9a-f]{16}$/);
    expect(script).toContain("TASK='backup'");
    expect(script).toContain(`BUCKET='${BUCKET}'`);
    expect(script).toContain(`KEY='${KEY}'`);
    expect(script).toContain(`PROJECT='${PROJECT}'`);
    expect(script).toContain("object_url() { printf 'gs://%s/%s'");
    expect(script).not.toContain('aws s3');
    expect(project.requestsOf('storage.objects.get')).toEqual([{ bucket: BUCKET, key: `${KEY}.manifest.json` }]);
  });

  it('fails with the end of standard error when the script fails, and removes every object of the backup', async () => {
    const [primary] = await deploy();
    project.objects.set(url(KEY), 'half a dump');
    agent(() => ({ exit: 1, stderr: 'pg_dump: error: connection to server failed\n' }));

    const error = await provider.backup(target, primary!, location).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/the backup failed on .* \(exit 1\): pg_dump: error: connection to server failed/);
    expect(project.requestsOf('storage.objects.delete')).toEqual(
      [KEY, `${KEY}.globals.sql`, `${KEY}.manifest.json`, `${KEY}.validation.json`].map((key) => ({
        bucket: BUCKET,
        key,
        options: { ignoreNotFound: true },
      })),
    );
    expect(project.objects.has(url(KEY))).toBe(false);
  });

  it('refuses a manifest that does not describe the dump, and a script that reported nothing', async () => {
    const [primary] = await deploy();
    agent(() => ({ exit: 0, result: { ...summary, sha256: 'd'.repeat(64) }, store: { [`${KEY}.manifest.json`]: manifest } }));
    await expect(provider.backup(target, primary!, location)).rejects.toThrow(/does not describe the dump/);
    agent(() => ({ exit: 0 }));
    await expect(provider.backup(target, primary!, location)).rejects.toThrow(/finished but printed no CLOUDSEED_RESULT line/);
  });

  it('says the command is still running when the agent has not ended it in time', async () => {
    const [primary] = await deploy();
    sleep.resolves();
    const error = await provider.backup(target, primary!, location).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/did not finish within 780 s/);
  });

  it('validates by restoring into a scratch database and comparing the fingerprints it stored', async () => {
    const [primary] = await deploy();
    const validation = JSON.stringify({ tables: [tables[0], { ...tables[1], rows: 1 }] });
    // No object: failed without running anything.
    expect(await provider.validateBackup(target, primary!, location, recorded)).toEqual({
      status: 'failed',
      detail: `the backup object ${url(KEY)} does not exist`,
    });
    expect(ran).toHaveLength(0);

    project.objects.set(url(KEY), 'dump');
    agent(() => ({ exit: 0, result: { status: 'restored', sha256: SHA, tableCount: 2 }, store: { [`${KEY}.validation.json`]: validation } }));
    const result = await provider.validateBackup(target, primary!, location, recorded);
    expect(result.status).toBe('failed');
    expect(result.detail).toMatch(/public\.empty/);
    expect(ran[0]!.script).toContain(`RECORDED_SHA256='${SHA}'`);
  });

  it('restores the recorded object into the application database, and refuses one whose sha256 changed', async () => {
    const [primary] = await deploy();
    await expect(provider.restoreBackup(target, primary!, location, recorded)).rejects.toThrow(/does not exist; nothing was restored/);
    project.objects.set(url(KEY), 'dump');
    agent(() => ({ exit: 0, result: { status: 'restored', sha256: SHA } }));
    await provider.restoreBackup(target, primary!, location, recorded);
    expect(ran[0]!.script).toContain("TASK='restore'");
    expect(ran[0]!.script).toContain("SWAP_DEADLINE_SECONDS='660'");

    agent(() => ({ exit: 0, result: { status: 'restored', sha256: 'e'.repeat(64) } }));
    await expect(provider.restoreBackup(target, primary!, location, recorded)).rejects.toThrow(/not the recorded/);
  });

  it('deletes every object of a backup, and refuses a bucket Cloud Storage would not name', async () => {
    for (const suffix of ['', '.globals.sql', '.manifest.json']) project.objects.set(url(`${KEY}${suffix}`), 'x');
    await provider.deleteBackup(target, location);
    expect(project.objects.size).toBe(0);
    await expect(provider.deleteBackup(target, { bucket: 'Not_A_Bucket', key: KEY })).rejects.toThrow(/is not a Cloud Storage bucket name/);
    await expect(provider.deleteBackup(target, { bucket: BUCKET, key: 'a\nb' })).rejects.toThrow(/is not a backup object key/);
  });

  it("backs up a Patroni cluster on its leader now, as the load balancer's check finds it", async () => {
    const cluster = gcpTarget({ replicas: 2 });
    const nodes = await deploy(cluster);
    project.leaders.add(nodes[2]!.nodeId);
    agent(() => ({ exit: 0, result: summary, store: { [`${KEY}.manifest.json`]: manifest } }));
    await provider.backup(cluster, nodes[0]!, location);
    expect(ran.map((entry) => entry.node)).toEqual([nodes[2]!.nodeId]);

    project.leaders.clear();
    await expect(provider.backup(cluster, nodes[0]!, location)).rejects.toThrow(/db has no leader now/);
  });
});

describe('continuous archiving on Google Cloud', () => {
  const prefix = `plans/${gcpTarget().planId}/db/`;
  const report = archiveReport(BUCKET);

  it('makes a pgBackRest backup on the primary and reads the fingerprints it stored beside the repository', async () => {
    const [primary] = await deploy();
    agent(() => ({ exit: 0, result: report, store: { [`${prefix}archive/bk-1.fingerprints.json`]: JSON.stringify({ tables }) } }));

    expect(await provider.archiveBackup(target, primary!, { backupId: 'bk-1', type: 'full' })).toEqual(archived);
    const { script } = ran[0]!;
    expect(script).toContain("TASK='archive-backup'");
    expect(script).toContain(`KEY='${prefix}archive/bk-1.fingerprints.json'`);
    expect(script).toContain(`PROJECT='${PROJECT}'`);
    // The repository's bucket is read from the node's own pgBackRest config, whichever cloud's.
    expect(script).toContain('repo1-(s3-bucket|gcs-bucket|azure-container)=');
  });

  it("refuses fingerprints in a bucket that is not the project's backup bucket", async () => {
    const [primary] = await deploy();
    agent(() => ({ exit: 0, result: { ...report, bucket: 'someone-elses-bucket' } }));
    await expect(provider.archiveBackup(target, primary!, { backupId: 'bk-1', type: 'full' })).rejects.toThrow(
      /used bucket "someone-elses-bucket", which is not this account's CloudSeed backup bucket/,
    );
    expect(project.requestsOf('storage.objects.get')).toEqual([]);
  });

  it('validates a backup set: restored fingerprints and pgbackrest verify', async () => {
    const [primary] = await deploy();
    const key = `${prefix}archive/bk-1.validation.json`;
    agent(() => ({
      exit: 0,
      result: { status: 'restored', bucket: BUCKET, tableCount: 2, verifyExit: 0, verify: 'stanza: db\nstatus: ok' },
      store: { [key]: JSON.stringify({ tables }) },
    }));
    const result = await provider.validateArchiveBackup(target, primary!, archived);
    expect(result.status).toBe('passed');
    expect(result.detail).toMatch(/^backup set 20300101-000000F restored to cloudseed-bk-1: .*pgbackrest verify found no problems$/);
  });

  it('reads the recovery window, and restores a single server in place to a time', async () => {
    const [primary] = await deploy();
    agent(() => ({ exit: 0, result: { latest: '2030-01-01T00:05:00.000000+00:00', info } }));
    expect(await provider.recoveryWindow(target, primary!)).toEqual({
      earliest: '2030-01-01T00:01:01.000Z',
      latest: '2030-01-01T00:05:00.000000+00:00',
    });

    agent(() => ({ exit: 0, result: { status: 'restored', timeline: 3 } }));
    await provider.restoreToPoint(target, primary!, { kind: 'time', time: '2030-01-01T00:03:00.000Z' });
    const restore = ran.at(-1)!.script;
    expect(restore).toContain("TASK='point-in-time-restore'");
    expect(restore).toContain("TARGET_TYPE='time'");
    expect(restore).toContain("SERVICE='postgresql@16-main'");
  });

  it('rebuilds a streaming replica with configure, told to clone its primary again', async () => {
    const pair = gcpTarget({ replicas: 1 });
    const [primary, replica] = await deploy(pair);
    agent(() => ({ exit: 0 }));
    await provider.rebuildReplicas(pair, primary!, [replica!]);
    expect(ran.map((entry) => entry.node)).toEqual([replica!.nodeId]);
    const { script } = ran[0]!;
    expect(script).toMatch(
      /^export CLOUDSEED_NODE_ROLE='replica'\nexport CLOUDSEED_PRIMARY_HOST='10\.\d+\.\d+\.\d+'\nexport CLOUDSEED_REBUILD_REPLICA='yes'\n/,
    );
    expect(script).toContain(`export CLOUDSEED_PRIMARY_HOST='${primary!.host}'`);
  });

  it('restores a Patroni cluster in place: dissolves it, restores its leader with the cluster forgotten in etcd, forms it again; then clones the replicas', async () => {
    const cluster = gcpTarget({ replicas: 2 });
    const nodes = await deploy(cluster);
    const [db0, db1, db2] = nodes;
    project.leaders.add(db1!.nodeId);
    agent(({ script }) => (script.includes("TASK='point-in-time-restore'") ? { exit: 0, result: { status: 'restored', timeline: 3 } } : { exit: 0 }));

    await provider.restoreToPoint(cluster, db0!, { kind: 'time', time: '2030-01-01T00:03:00.000Z' });
    const label = (entry: Ran) => `${entry.id.replace(/-[0-9a-f]{16}$/, '')} ${nodes.find((node) => node.nodeId === entry.node)!.name}`;
    expect(ran.map(label)).toEqual(['dissolve db-0', 'dissolve db-1', 'dissolve db-2', 'point-in-time-restore db-1', 'configure db-1']);
    const restore = ran[3]!.script;
    expect(restore).toMatch(/^export CLOUDSEED_ETCD_HOSTS='10\.\d+\.\d+\.\d+ 10\.\d+\.\d+\.\d+ 10\.\d+\.\d+\.\d+'\n/);
    expect(restore).toContain('FORGET_REQUEST=');
    expect(restore).toContain("TARGET_TYPE='time'");
    expect(ran[4]!.script).toContain("export CLOUDSEED_NODE_ROLE='primary'\nexport CLOUDSEED_NODE_NAME='db-1'");

    // The replicas: the leader the load balancer finds decides, and each is configured as a new clone of it.
    const before = ran.length;
    await provider.rebuildReplicas(cluster, db0!, [db1!, db2!]);
    const rebuilt = ran.slice(before);
    expect(rebuilt.map(label)).toEqual(['dissolve db-0', 'dissolve db-2', 'configure db-0', 'configure db-2']);
    for (const entry of rebuilt.slice(2)) {
      expect(entry.script).toContain("export CLOUDSEED_NODE_ROLE='replica'");
      expect(entry.script).toContain(`export CLOUDSEED_PRIMARY_HOST='${db1!.host}'`);
    }
  });

  it('does not take a cluster down to restore it while an etcd member is not running', async () => {
    const cluster = gcpTarget({ replicas: 2 });
    const nodes = await deploy(cluster);
    project.instances.get(nodes[2]!.nodeId)!.status = 'TERMINATED';
    const error = await provider
      .restoreToPoint(cluster, nodes[0]!, { kind: 'time', time: '2030-01-01T00:03:00.000Z' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/the etcd members of db \(db-0, db-1, db-2\) are not all running/);
    expect(ran).toEqual([]);
  });
});
