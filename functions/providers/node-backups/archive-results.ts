import { parseStanzaInfo } from '@cloudseed/shared/postgres/pgbackrest';
import type { StanzaInfo } from '@cloudseed/shared/postgres/pgbackrest';
import { PermanentError } from '../errors.ts';
import { count, text } from './backup-results.ts';

// Reading what the archive scripts report on their one `CLOUDSEED_RESULT {json}` line (resultOf in
// backup-results.ts finds it). pgBackRest's own answer travels inside it as `info`, trimmed on the
// node to what parseStanzaInfo reads; anything of another shape is a PermanentError saying what.

type Json = Record<string, unknown>;

export interface ArchiveBackupReport {
  readonly label: string;
  readonly restorePoint: string;
  readonly serverVersion: string;
  readonly durationMs: number;
  /** The repository's bucket, where the fingerprints were stored too. */
  readonly bucket: string;
  readonly tableCount: number;
  readonly info: StanzaInfo;
}

export type ArchiveValidationReport =
  | { readonly status: 'failed'; readonly detail: string }
  | { readonly status: 'restored'; readonly bucket: string; readonly tableCount: number; readonly verifyExit: number; readonly verify: string };

export interface RecoveryWindowReport {
  /** The newest time a restore can reach, or '' while no heartbeat is archived. */
  readonly latest: string;
  readonly info: StanzaInfo;
}

const LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;

export function archiveBackupReport(result: Json, stanza: string, what: string): ArchiveBackupReport {
  const label = text(result, 'label', what);
  if (!LABEL.test(label)) throw new PermanentError(`${what} reported ${JSON.stringify(label)}, which is not a pgBackRest backup label`);
  return {
    label,
    restorePoint: text(result, 'restorePoint', what),
    serverVersion: text(result, 'serverVersion', what),
    durationMs: count(result, 'durationMs', what),
    bucket: text(result, 'bucket', what),
    tableCount: count(result, 'tableCount', what),
    info: stanzaInfo(result, stanza, what),
  };
}

export function archiveValidationReport(result: Json, what: string): ArchiveValidationReport {
  if (result['status'] === 'failed') return { status: 'failed', detail: text(result, 'detail', what) };
  if (result['status'] === 'restored') {
    return {
      status: 'restored',
      bucket: text(result, 'bucket', what),
      tableCount: count(result, 'tableCount', what),
      verifyExit: count(result, 'verifyExit', what),
      verify: text(result, 'verify', what),
    };
  }
  throw new PermanentError(`${what} reported an unknown status ${JSON.stringify(result['status'])}`);
}

export function recoveryWindowReport(result: Json, stanza: string, what: string): RecoveryWindowReport {
  return { latest: text(result, 'latest', what), info: stanzaInfo(result, stanza, what) };
}

/** The new timeline a point-in-time restore promoted the primary on. */
export function restoredTimeline(result: Json, what: string): number {
  if (result['status'] !== 'restored') throw new PermanentError(`${what} reported an unknown status ${JSON.stringify(result['status'])}`);
  const timeline = count(result, 'timeline', what);
  // A promotion at a recovery target always starts a new timeline after the first.
  if (timeline < 2) throw new PermanentError(`${what} left the primary on timeline ${timeline}, not on a new one`);
  return timeline;
}

function stanzaInfo(result: Json, stanza: string, what: string): StanzaInfo {
  try {
    return parseStanzaInfo(JSON.stringify(result['info'] ?? null), stanza);
  } catch (error) {
    throw new PermanentError(`${what}: ${(error as Error).message}`, { cause: error });
  }
}
