import type { ScriptCloud } from '@cloudseed/shared/targets/node-scripts';
import type { ShellValues } from '@cloudseed/shared/targets/aws/scripts';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import type { NodeRef } from '../provider.ts';

// What the backup and archive operations (backups.ts, archive.ts beside this) ask of a cloud: run a
// script on a node and hand back its one result, and read, test and remove objects in the cloud's
// object storage. The scripts are the same on every cloud; each cloud's provider builds a BackupHost
// from its context (aws/backups.ts, gcp/backups.ts, azure/backups.ts) and the operations do the rest.

export type Json = Record<string, unknown>;

/** How long a script may run, and how often and how many times the provider asks how it went. */
export interface CommandLimits {
  readonly commandSeconds: number;
  readonly pollMs: number;
  readonly polls: number;
}

export interface RunOptions {
  readonly environment?: ScriptEnvironment;
  readonly limits: CommandLimits;
}

/** One cloud's object storage, as the operations need it: every call names a bucket (or container) and a key. */
export interface ObjectStore {
  /** How messages name an object: s3://, gs://, or the blob's https address. */
  url(bucket: string, key: string): string;
  /** Throws a PermanentError unless `bucket` is a name this cloud's storage would accept. */
  checkBucket(bucket: string): void;
  exists(bucket: string, key: string): Promise<boolean>;
  /** The object's text; a PermanentError saying `what` does not exist when it is missing. */
  read(bucket: string, key: string, what: string): Promise<string>;
  /** The object's text, or undefined when there is none. */
  find(bucket: string, key: string): Promise<string | undefined>;
  /** Removes the objects; one that is not there counts as removed. */
  remove(bucket: string, keys: readonly string[]): Promise<void>;
}

/** The component's facts the scripts are rendered from. */
export interface BackupComponent {
  readonly id: string;
  readonly os: { readonly name: string; readonly version: string };
  readonly postgres: { readonly major: number; readonly port: number; readonly databaseName: string; readonly username: string };
}

export interface BackupHost {
  readonly planId: string;
  readonly component: BackupComponent;
  /** The prelude the scripts are sent with. */
  readonly cloud: ScriptCloud;
  /** What that prelude reads from a script's header for objects in `bucket` (AWS: the bucket's region). */
  scriptValues(bucket: string): ShellValues;
  readonly store: ObjectStore;
  /** How messages name a node. */
  nodeLabel(node: NodeRef): string;
  /** Throws a PermanentError unless the node is one this cloud's provider can send a script to. */
  checkNode(node: NodeRef): void;
  /**
   * Runs `script` on `node` and waits for it: the JSON object of its one result line, or a
   * PermanentError with the end of its standard error. `what` names the run for messages.
   */
  run(node: NodeRef, label: string, script: string, what: string, options: RunOptions): Promise<Json>;
  /** Runs a script that reports no result (configure) on `node` and waits until it has succeeded. */
  runScript(node: NodeRef, label: string, script: string, what: string, options: RunOptions): Promise<void>;
}

/** Beside a BackupHost, what continuous archiving (pgBackRest) asks of a cloud. */
export interface ArchiveHost extends BackupHost {
  /** Where the fingerprints of pgBackRest backups are stored: the component's backup prefix. */
  readonly archivePrefix: string;
  /** The values the archive scripts start from for the repository's bucket (read from the node's own config), before it is known. */
  readonly archiveValues: ShellValues;
  /** Whether `bucket`, which a node's config named, is this account's CloudSeed backup bucket: fingerprints are read only from there. */
  ownsBucket(bucket: string): boolean;
  /** The node's private address, which a replica rebuilt from it streams from. */
  privateAddressOf(node: NodeRef): Promise<string>;
  /** The component's configure script, which rebuilds a replica when told to. */
  readonly configureScript: string;
}
