import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { OsAccount } from './exec.ts';

// Files the provider writes are replaced whole (temporary file + rename) so that a crash, or a
// server reading its configuration at the wrong moment, never sees half of one. Modes and owners
// are set on the temporary file, before it appears under its real name.

export async function ensureDir(path: string, mode: number, owner?: OsAccount): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  // mkdir leaves an existing directory's mode and owner alone.
  await chmod(path, mode);
  if (owner) await chown(path, owner.uid, owner.gid);
}

export async function writeFileAtomic(path: string, content: string, mode: number, owner?: OsAccount): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' });
    await chmod(temporary, mode);
    if (owner) await chown(temporary, owner.uid, owner.gid);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
