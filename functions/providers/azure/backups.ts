import type { ContainerClient } from '@azure/storage-blob';
import { requireIpv4 } from '../command-output.ts';
import { PermanentError } from '../errors.ts';
import { resultOf } from '../node-backups/backup-results.ts';
import { RESULT_MARKER } from '../node-backups/backup-scripts.ts';
import type { ArchiveHost, ObjectStore, RunOptions } from '../node-backups/host.ts';
import type { NodeRef } from '../provider.ts';
import type { AzureContext } from './clients.ts';
import { runOnNode } from './commands.ts';
import { call, found } from './errors.ts';
import { vmOf } from './target.ts';

// Backups and continuous archiving on Azure (the operations are ../node-backups/, the same on every
// cloud): the scripts run on the primary as managed run commands with the Azure prelude, streaming
// between PostgreSQL and the backup container of the subscription's backup account with the
// component's managed identity; the result is the one line of standard output Run Command keeps
// (or, when it is longer than the 4 KiB kept, a blob the line points to), and the provider reads
// what the scripts stored through Blob Storage's data plane with the customer's connection.

/** A container's name: 3–63 lower-case letters, digits and single '-', a letter or digit at each end. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** What the backup operations run and read through on Azure. */
export function backupHost(context: AzureContext): ArchiveHost {
  const { target, component, where, clock } = context;
  const { backup, keyVault } = component;
  const header = { VAULT: keyVault.name, STORAGE_ACCOUNT: backup.storageAccount.name };
  const store = blobStore(context);
  const run = (node: NodeRef, label: string, script: string, { environment = [], limits }: RunOptions, resultKey?: string): Promise<string> =>
    runOnNode(
      context,
      node,
      `cloudseed-${label}`,
      script,
      { timeoutSeconds: limits.commandSeconds, pollMs: limits.pollMs, polls: limits.polls },
      // A run id makes each run a change to the run command, so Azure runs it even when the script is the same as last time.
      [...environment, ['CLOUDSEED_RUN', String(clock.now())], ...(resultKey ? [['CLOUDSEED_RESULT_KEY', resultKey] as const] : [])],
    );
  return {
    planId: target.planId,
    component: { id: component.id, os: component.os, postgres: component.postgres },
    cloud: 'azure',
    scriptValues: () => header,
    store,
    nodeLabel: (node) => node.name,
    checkNode: (node) => void vmOf(where, node),
    run: async (node, label, script, what, options) => {
      // Run Command keeps 4 KiB of output: a longer result comes as the blob this names (prelude-azure.sh's report_status).
      const resultKey = `${backup.prefix}results/${label}-${clock.now()}.json`;
      const result = resultOf(await run(node, label, script, options, resultKey), what);
      if (result['resultKey'] === undefined) return result;
      if (result['resultKey'] !== resultKey)
        throw new PermanentError(`${what} pointed to ${JSON.stringify(result['resultKey'])}, not to ${resultKey}`);
      const stored = await store.read(backup.container, resultKey, `the result of ${what}`);
      await store.remove(backup.container, [resultKey]);
      return resultOf(`${RESULT_MARKER} ${stored}`, what);
    },
    runScript: async (node, label, script, _what, options) => void (await run(node, label, script, options)),
    archivePrefix: backup.prefix,
    archiveValues: header,
    ownsBucket: (container) => container === backup.container,
    privateAddressOf: (node) => Promise.resolve(requireIpv4(node.host, `node ${node.name}`)),
    configureScript: component.scripts.configure,
  };
}

/** The backup account's containers through Blob Storage's data plane, with the customer's connection. */
export function blobStore(context: AzureContext): ObjectStore {
  const account = context.component.backup.storageAccount.name;
  const container = (name: string): ContainerClient => context.clients.blobs(account, name);
  const operation = (verb: string, bucket: string, key: string) =>
    `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/${verb} ${bucket}/${key}`;
  return {
    url: (bucket, key) => `https://${account}.blob.core.windows.net/${bucket}/${key}`,
    checkBucket: (bucket) => {
      if (!CONTAINER_NAME.test(bucket)) throw new PermanentError(`${JSON.stringify(bucket)} is not a Blob Storage container name`);
    },
    exists: (bucket, key) => call(operation('read', bucket, key), () => container(bucket).getBlobClient(key).exists()),
    read: async (bucket, key, what) => {
      const contents = await found(operation('read', bucket, key), () => container(bucket).getBlobClient(key).downloadToBuffer());
      if (contents === undefined) throw new PermanentError(`${what} does not exist`, { code: 'BlobNotFound' });
      return contents.toString('utf8');
    },
    find: async (bucket, key) =>
      (await found(operation('read', bucket, key), () => container(bucket).getBlobClient(key).downloadToBuffer()))?.toString('utf8'),
    remove: async (bucket, keys) => {
      for (const key of keys) await call(operation('delete', bucket, key), () => container(bucket).getBlobClient(key).deleteIfExists());
    },
  };
}
