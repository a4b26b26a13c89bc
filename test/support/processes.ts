import { readdir, readlink, realpath } from 'node:fs/promises';
import { sep } from 'node:path';

/** PIDs of processes whose working directory is `directory` or inside it (Linux /proc). */
export async function processesWorkingIn(directory: string): Promise<number[]> {
  // A directory already removed is matched as written: a process may still work in it.
  const root = await realpath(directory).catch(() => directory);
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = await readlink(`/proc/${entry}/cwd`);
      if (cwd === root || cwd.startsWith(root + sep)) found.push(Number(entry));
    } catch {
      // gone, or not ours to see
    }
  }
  return found;
}
