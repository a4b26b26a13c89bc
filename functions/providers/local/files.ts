import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { OsAccount } from './exec.ts';

// Files the provider writes are replaced whole (temporary file + rename) so that a crash, or a
// server reading its configuration at the wrong moment, never sees half of one.
//
// The local cloud runs as root and works in directories the postgres OS user owns (a node's data,
// certificates and logs). Anything there may have been swapped for a symlink by postgres, so root
// never follows one: the last component of every path is opened with O_NOFOLLOW, modes and owners
// are set through the open handle (fchmod/fchown), never by name, and a new file is created under a
// random name with O_EXCL before it is renamed into place (rename replaces a link, it does not follow
// it). Every directory above that last component must be root's own, which paths.ts lays out so.

const NO_FOLLOW = constants.O_NOFOLLOW;

/** Thrown when a path that must be a plain file or directory is something else (a planted symlink, a FIFO). */
export class UnsafePath extends Error {
  override readonly name = 'UnsafePath';
}

/**
 * Makes the directory (its parents as needed) and sets the last one's mode and owner without
 * following a symlink. One that already exists must belong to root or to the owner: a directory
 * somebody else made in its place (in /tmp, say) is refused rather than taken over, unless the
 * caller names its owner in `takeFrom` (a directory of ours whose owner changes).
 */
export async function ensureDir(path: string, mode: number, owner?: OsAccount, takeFrom?: OsAccount): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const handle = await openNoFollow(path, constants.O_RDONLY | constants.O_DIRECTORY, 'a directory');
  try {
    const { uid } = await handle.stat();
    if (uid !== 0 && uid !== process.getuid?.() && uid !== owner?.uid && uid !== takeFrom?.uid) {
      throw new UnsafePath(`${path} belongs to another user (uid ${uid}); refusing to use it`);
    }
    // mkdir leaves an existing directory's mode and owner alone.
    await handle.chmod(mode);
    if (owner) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(path: string, content: string, mode: number, owner?: OsAccount): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, mode);
    await handle.writeFile(content);
    await handle.chmod(mode);
    if (owner) await handle.chown(owner.uid, owner.gid);
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

/** A regular file's text, or undefined when there is none; a symlink, FIFO or device in its place is refused. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO planted in place of a file must not hang the local cloud.
    handle = await openNoFollow(path, constants.O_RDONLY | constants.O_NONBLOCK, 'a regular file');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new UnsafePath(`${path} is not a regular file; refusing to read it`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The last `maxBytes` of a regular file (from its first whole line when cut) and its time of last
 * change, or undefined when there is none. A symlink, FIFO, or a hard link (a second name for a
 * file somebody else owns) in its place is refused.
 */
export async function readTailIfExists(path: string, maxBytes: number): Promise<{ text: string; modified: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await openNoFollow(path, constants.O_RDONLY | constants.O_NONBLOCK, 'a regular file');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.nlink !== 1) throw new UnsafePath(`${path} is not a regular file of its own; refusing to read it`);
    const start = Math.max(0, stats.size - maxBytes);
    const buffer = Buffer.alloc(stats.size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    return { text: start > 0 ? text.slice(text.indexOf('\n') + 1) : text, modified: stats.mtimeMs };
  } finally {
    await handle.close();
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

/** The file's status without following a symlink at its last component; undefined when there is none. */
export async function statNoFollow(path: string): Promise<Stats | undefined> {
  try {
    const handle = await openNoFollow(path, constants.O_RDONLY | constants.O_NONBLOCK, 'a file or directory');
    try {
      return await handle.stat();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function openNoFollow(path: string, flags: number, what: string): Promise<FileHandle> {
  try {
    return await open(path, flags | NO_FOLLOW);
  } catch (error) {
    // ELOOP is what O_NOFOLLOW answers for a symlink; ENOTDIR what O_DIRECTORY answers for a file.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || (code === 'ENOTDIR' && (flags & constants.O_DIRECTORY) !== 0)) {
      throw new UnsafePath(`${path} should be ${what} but is a symbolic link or something else; refusing to follow it`);
    }
    throw error;
  }
}

/** A JSON document written whole (files.ts's temporary file + rename), private to its owner unless `mode` says otherwise. */
export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, mode);
}

/** A JSON document's parsed value, or undefined when there is no file; one that does not parse is an error naming the file. */
export async function readJsonIfExists(path: string): Promise<unknown> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${path} is not valid JSON; fix or delete it`, { cause: error });
  }
}
