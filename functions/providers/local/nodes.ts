import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRole } from '@cloudseed/shared';
import { isMissing, readTextIfExists, writeFileAtomic } from './files.ts';
import { instancesRoot, pathsOf } from './paths.ts';
import type { NodePaths } from './paths.ts';

// node.json: what the local cloud remembers about one server between its own restarts.

export interface NodeRecord {
  readonly planId: string;
  readonly componentId: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly major: number;
  readonly port: number;
  /** Set once configure has started the server; a restart of the local cloud starts it again. */
  readonly running: boolean;
  /** The memory the plan promised this server (its machine size); preflight counts it as taken while the server runs. */
  readonly memoryGiB?: number;
  /** A cluster member: Patroni runs its server and answers on this loopback port. */
  readonly restPort?: number;
}

export async function readNodeRecord(paths: NodePaths): Promise<NodeRecord | undefined> {
  const text = await readTextIfExists(paths.record);
  if (text === undefined) return undefined;
  try {
    return parseRecord(JSON.parse(text));
  } catch {
    throw new Error(`${paths.record} is not a valid node record; fix or delete the instance`);
  }
}

export async function writeNodeRecord(paths: NodePaths, record: NodeRecord): Promise<void> {
  await writeFileAtomic(paths.record, `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export interface KnownNode {
  readonly paths: NodePaths;
  readonly record: NodeRecord;
}

/** Every launched node under CLOUDSEED_HOME, whatever plan it belongs to. */
export async function listNodes(home: string): Promise<KnownNode[]> {
  const nodes: KnownNode[] = [];
  for (const planDir of await subdirectories(instancesRoot(home))) {
    for (const nodeDir of await subdirectories(planDir)) {
      const paths = pathsOf(nodeDir);
      const record = await readNodeRecord(paths);
      if (record) nodes.push({ paths, record });
    }
  }
  return nodes;
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

function parseRecord(value: unknown): NodeRecord {
  const record = value as Partial<Record<keyof NodeRecord, unknown>>;
  const { planId, componentId, name, role, major, port, running, memoryGiB, restPort } = record;
  if (
    typeof planId !== 'string' ||
    typeof componentId !== 'string' ||
    typeof name !== 'string' ||
    (role !== 'primary' && role !== 'replica') ||
    typeof major !== 'number' ||
    typeof port !== 'number' ||
    typeof running !== 'boolean' ||
    (memoryGiB !== undefined && typeof memoryGiB !== 'number') ||
    (restPort !== undefined && typeof restPort !== 'number')
  ) {
    throw new TypeError('invalid node record');
  }
  return {
    planId,
    componentId,
    name,
    role,
    major,
    port,
    running,
    ...(memoryGiB === undefined ? {} : { memoryGiB }),
    ...(restPort === undefined ? {} : { restPort }),
  };
}
