import type { Storage } from '@google-cloud/storage';
import { requireIpv4 } from '../command-output.ts';
import { PermanentError } from '../errors.ts';
import { resultOf } from '../node-backups/backup-results.ts';
import { RESULT_MARKER } from '../node-backups/backup-scripts.ts';
import type { ArchiveHost, ObjectStore } from '../node-backups/host.ts';
import type { GcpContext } from './clients.ts';
import { runOnNode } from './commands.ts';
import { call, isNotFound } from './errors.ts';
import { nodeLabel } from './nodes.ts';

// Backups and continuous archiving on Google Cloud (the operations are ../node-backups/, the same on
// every cloud): the scripts run on the primary through its agent with the GCP prelude, streaming
// between PostgreSQL and the project's backup bucket with the instance's service account, which may
// write only under its component's prefix and the plan's pgBackRest repository (gcp-json's IAM
// condition); the result comes back as the command's guest attribute, and the provider reads what
// the scripts stored with the customer's connection through Cloud Storage's own client.

/** Cloud Storage's bucket names: 3–63 characters of lower-case letters, digits, '-', '_' and '.', a letter or digit at each end. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** What the backup operations run and read through on Google Cloud. */
export function backupHost(context: GcpContext): ArchiveHost {
  const { target, component, project } = context;
  const { bucket } = component.backup;
  return {
    planId: target.planId,
    component: { id: component.id, os: component.os, postgres: component.postgres },
    cloud: 'gcp',
    // The prelude reads objects of the header's BUCKET; PROJECT is for the secrets.
    scriptValues: () => ({ PROJECT: project }),
    store: gcsStore(context.clients.storage),
    nodeLabel,
    checkNode: (node) => {
      if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(node.nodeId))
        throw new PermanentError(`${JSON.stringify(node.nodeId)} is not a Compute Engine instance name`);
    },
    // The agent hands over the result itself (report_status writes it as the command's guest attribute).
    run: async (node, label, script, what, { environment, limits }) => {
      const result = await runOnNode(context, node, label, script, limits, environment);
      return resultOf(result === undefined ? undefined : `${RESULT_MARKER} ${result}`, what);
    },
    runScript: async (node, label, script, _what, { environment, limits }) =>
      void (await runOnNode(context, node, label, script, limits, environment)),
    archivePrefix: bucket.prefix,
    archiveValues: { PROJECT: project },
    ownsBucket: (name) => name === bucket.name,
    privateAddressOf: (node) => Promise.resolve(requireIpv4(node.host, `node ${nodeLabel(node)}`)),
    configureScript: component.scripts.configure,
  };
}

/** Cloud Storage with the customer's connection. */
export function gcsStore(storage: Storage): ObjectStore {
  const file = (bucket: string, key: string) => storage.bucket(bucket).file(key);
  return {
    url: (bucket, key) => `gs://${bucket}/${key}`,
    checkBucket: (bucket) => {
      if (!BUCKET_NAME.test(bucket) || bucket.startsWith('goog'))
        throw new PermanentError(`${JSON.stringify(bucket)} is not a Cloud Storage bucket name`);
    },
    exists: async (bucket, key) => (await call('storage.objects.get', () => file(bucket, key).exists()))[0],
    read: async (bucket, key, what) => {
      try {
        const [contents] = await call('storage.objects.get', () => file(bucket, key).download());
        return contents.toString('utf8');
      } catch (error) {
        if (isNotFound(error)) throw new PermanentError(`${what} does not exist`, { code: 'NOT_FOUND', cause: error });
        throw error;
      }
    },
    find: async (bucket, key) => {
      try {
        return (await call('storage.objects.get', () => file(bucket, key).download()))[0].toString('utf8');
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    remove: async (bucket, keys) => {
      for (const key of keys) await call('storage.objects.delete', () => file(bucket, key).delete({ ignoreNotFound: true }));
    },
  };
}
