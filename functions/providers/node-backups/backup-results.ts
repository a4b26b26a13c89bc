import type { TableFingerprint } from '../provider.ts';
import { RESULT_MARKER } from './backup-scripts.ts';
import { PermanentError } from '../errors.ts';

// Reading what the backup scripts report: the one `CLOUDSEED_RESULT {json}` line of standard
// output, and the JSON objects they store next to the dump. Anything that does not have the
// expected shape is a PermanentError that says what was wrong, never a half-filled result.

export interface BackupSummary {
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly durationMs: number;
  readonly serverVersion: string;
  readonly tableCount: number;
}

export interface BackupManifest {
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly durationMs: number;
  readonly serverVersion: string;
  readonly tables: TableFingerprint[];
}

export type ValidationOutcome =
  { readonly status: 'restored'; readonly sha256: string; readonly tableCount: number } | { readonly status: 'failed'; readonly detail: string };

export interface RestoreOutcome {
  readonly status: 'restored';
  readonly sha256: string;
}

type Json = Record<string, unknown>;

const SHA256 = /^[0-9a-f]{64}$/;
const MD5_OR_EMPTY = /^([0-9a-f]{32})?$/;
const PREVIEW = 200;

/** The JSON object of the last result line in a script's standard output. `what` names the script's run for messages. */
export function resultOf(stdout: string | undefined, what: string): Json {
  const prefix = `${RESULT_MARKER} `;
  const line = (stdout ?? '')
    .split(/\r?\n/)
    .filter((candidate) => candidate.startsWith(prefix))
    .at(-1);
  if (line === undefined) throw new PermanentError(`${what} finished but printed no ${RESULT_MARKER} line${preview(stdout)}`);
  return parseObject(line.slice(prefix.length), `${what} printed a result that is not a JSON object`);
}

export function backupSummary(result: Json, what: string): BackupSummary {
  return {
    sizeBytes: count(result, 'sizeBytes', what),
    sha256: sha256(result, 'sha256', what),
    durationMs: count(result, 'durationMs', what),
    serverVersion: text(result, 'serverVersion', what),
    tableCount: count(result, 'tableCount', what),
  };
}

export function backupManifest(body: string, what: string): BackupManifest {
  const manifest = parseObject(body, `${what} is not a JSON object`);
  return {
    sizeBytes: count(manifest, 'sizeBytes', what),
    sha256: sha256(manifest, 'sha256', what),
    durationMs: count(manifest, 'durationMs', what),
    serverVersion: text(manifest, 'serverVersion', what),
    tables: fingerprints(manifest, what),
  };
}

export function validationOutcome(result: Json, what: string): ValidationOutcome {
  if (result['status'] === 'failed') return { status: 'failed', detail: text(result, 'detail', what) };
  if (result['status'] === 'restored')
    return { status: 'restored', sha256: sha256(result, 'sha256', what), tableCount: count(result, 'tableCount', what) };
  throw new PermanentError(`${what} reported an unknown status ${JSON.stringify(result['status'])}`);
}

export function restoreOutcome(result: Json, what: string): RestoreOutcome {
  if (result['status'] !== 'restored') throw new PermanentError(`${what} reported an unknown status ${JSON.stringify(result['status'])}`);
  return { status: 'restored', sha256: sha256(result, 'sha256', what) };
}

/** The `{ tables }` a validation stores: the fingerprints of the restored copy. */
export function restoredFingerprints(body: string, what: string): TableFingerprint[] {
  return fingerprints(parseObject(body, `${what} is not a JSON object`), what);
}

function parseObject(body: string, message: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentError(`${message}: ${body.slice(0, PREVIEW)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new PermanentError(`${message}: ${body.slice(0, PREVIEW)}`);
  return parsed as Json;
}

function fingerprints(object: Json, what: string): TableFingerprint[] {
  const tables = object['tables'];
  if (!Array.isArray(tables)) throw new PermanentError(`${what} has no list of tables`);
  return tables.map((entry: unknown, index) => {
    const table = typeof entry === 'object' && entry !== null ? (entry as Json) : {};
    const where = `${what}, table ${index + 1}`;
    const checksum = text(table, 'checksum', where);
    if (!MD5_OR_EMPTY.test(checksum)) throw new PermanentError(`${where} has an invalid checksum ${JSON.stringify(checksum)}`);
    return { table: text(table, 'table', where), rows: count(table, 'rows', where), checksum };
  });
}

/** A whole number of 0 or more in `field` of a script's JSON, or a PermanentError naming it. */
export function count(object: Json, field: string, what: string): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new PermanentError(`${what} has no valid ${field} (${JSON.stringify(value)})`);
  return value;
}

/** A string in `field` of a script's JSON, or a PermanentError naming it. */
export function text(object: Json, field: string, what: string): string {
  const value = object[field];
  if (typeof value !== 'string') throw new PermanentError(`${what} has no valid ${field} (${JSON.stringify(value)})`);
  return value;
}

function sha256(object: Json, field: string, what: string): string {
  const value = text(object, field, what);
  if (!SHA256.test(value)) throw new PermanentError(`${what} has no valid ${field} (${JSON.stringify(value)})`);
  return value;
}

function preview(stdout: string | undefined): string {
  const trimmed = (stdout ?? '').trim();
  return trimmed ? `; its output began: ${trimmed.slice(0, PREVIEW)}` : '';
}
