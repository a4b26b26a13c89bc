import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJsonIfExists, writeJsonAtomic } from '@cloudseed/functions/providers/local/files';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `CLOUDSEED_HOME`, or `.cloudseed/` in the repository; created private to this user. */
export async function prepareHome(configured: string | undefined): Promise<string> {
  const home = resolve(configured === undefined || configured === '' ? join(repoRoot, '.cloudseed') : configured);
  await mkdir(home, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; this one holds passwords and keys.
  await chmod(home, 0o700);
  return home;
}

/** What the local cloud remembers between starts (`CLOUDSEED_HOME/local-cloud.json`). */
export interface LocalCloudState {
  userPoolId?: string;
  userPoolClientId?: string;
}

const stateFile = (home: string) => join(home, 'local-cloud.json');

export async function readState(home: string): Promise<LocalCloudState> {
  const parsed = await readJsonIfExists(stateFile(home));
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { userPoolId, userPoolClientId } = parsed as Record<string, unknown>;
  return {
    ...(typeof userPoolId === 'string' ? { userPoolId } : {}),
    ...(typeof userPoolClientId === 'string' ? { userPoolClientId } : {}),
  };
}

export async function writeState(home: string, state: LocalCloudState): Promise<void> {
  await writeJsonAtomic(stateFile(home), state);
}
