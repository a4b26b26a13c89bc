import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  let text: string;
  try {
    text = await readFile(stateFile(home), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${stateFile(home)} is not valid JSON; fix or delete it`);
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { userPoolId, userPoolClientId } = parsed as Record<string, unknown>;
  return {
    ...(typeof userPoolId === 'string' ? { userPoolId } : {}),
    ...(typeof userPoolClientId === 'string' ? { userPoolClientId } : {}),
  };
}

/** Written to a temporary file and renamed, so a crash never leaves half a file. */
export async function writeState(home: string, state: LocalCloudState): Promise<void> {
  const file = stateFile(home);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}
