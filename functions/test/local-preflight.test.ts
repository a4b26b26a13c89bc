import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedMemoryGiB, LocalProvider, machineMemoryGiB, PreflightRefused } from '../providers/local/local-provider.ts';
import { readNodeRecord, writeNodeRecord } from '../providers/local/nodes.ts';
import { nodePaths } from '../providers/local/paths.ts';
import type { DeployTarget } from '../providers/provider.ts';
import { localTarget } from './support/local-targets.ts';

// The local cloud's preflight counts the memory already promised to the servers deployed on this
// machine: a plan that fits the machine alone is refused when other plans' nodes hold the rest.
// Other plans' nodes are node.json records (what the local cloud itself remembers); no server runs.

let home: string;
let provider: LocalProvider;

/** The largest node size (a multiple of 0.5 GiB, as plans give it) this machine can give. */
const largest = Math.floor(machineMemoryGiB().usable * 2) / 2;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cs-pf-'));
  provider = new LocalProvider({ home });
});

afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

const targetFor = (planId: string, memoryGiB: number, replicas = 0): DeployTarget => localTarget(planId, { memoryGiB, replicas });

/** A node of another plan as launchNodes and configure leave it in node.json. */
async function deployedNode(planId: string, name: string, memoryGiB: number | undefined, port: number): Promise<void> {
  const paths = nodePaths(home, planId, name);
  await mkdir(paths.root, { recursive: true });
  await writeNodeRecord(paths, {
    planId,
    componentId: 'db',
    name,
    role: 'primary',
    major: 15,
    port,
    running: true,
    ...(memoryGiB === undefined ? {} : { memoryGiB }),
  });
}

async function forget(planId: string): Promise<void> {
  await rm(join(home, 'instances', planId), { recursive: true, force: true });
}

describe('preflight on a machine other plans already use', () => {
  it('lets a plan that fits what is left through', async () => {
    await expect(provider.preflight(targetFor('fits', 1))).resolves.toBeUndefined();
  });

  it('refuses a plan that fits the machine but not what the deployed nodes leave, saying how much is promised to how many nodes', async () => {
    // Two nodes of another plan hold all but 1 GiB or less between them (largest ≤ usable < largest + 0.5).
    const half = largest / 2;
    await deployedNode('other', 'db-1', half, 40_001);
    await deployedNode('other', 'db-2', half, 40_002);
    try {
      const error = await provider.preflight(targetFor('late', 1)).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PreflightRefused);
      const left = Math.round((machineMemoryGiB().usable - largest) * 10) / 10;
      expect((error as Error).message).toContain(`the plan asks for 1 GiB of memory (1 GiB × 1 node)`);
      expect((error as Error).message).toContain(
        `of which ${Math.round(largest * 10) / 10} GiB is already promised to 2 nodes deployed here, leaving ${left} GiB`,
      );
      expect((error as Error).message).toMatch(/or delete a plan that runs here$/);
      expect(await committedMemoryGiB(home)).toEqual({ memoryGiB: largest, nodes: 2 });
    } finally {
      await forget('other');
    }
  });

  it('does not count the nodes a redeploy of the same plan replaces', async () => {
    await deployedNode('same', 'db-1', largest, 40_003);
    try {
      await expect(provider.preflight(targetFor('same', largest))).resolves.toBeUndefined();
      expect(await committedMemoryGiB(home, targetFor('same', largest))).toEqual({ memoryGiB: 0, nodes: 0 });
    } finally {
      await forget('same');
    }
  });

  it('records the promised memory on every node it launches', async () => {
    const target = targetFor('launched', 1.5, 1);
    try {
      const nodes = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));

      expect(nodes).toHaveLength(2);
      for (const node of nodes)
        expect(await readNodeRecord(nodePaths(home, 'launched', node.name))).toMatchObject({ memoryGiB: 1.5, running: false });
      expect(await committedMemoryGiB(home)).toEqual({ memoryGiB: 3, nodes: 2 });
    } finally {
      await provider.destroy(target);
    }
  });
});
