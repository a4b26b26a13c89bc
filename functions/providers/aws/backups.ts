import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCommandInvocationCommand } from '@aws-sdk/client-ssm';
import type { GetCommandInvocationCommandOutput } from '@aws-sdk/client-ssm';
import { awsAccountIdOf, backupBucketName, backupBucketRegion } from '@cloudseed/shared/targets/aws/account';
import type { NodeRef } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { resultOf } from '../node-backups/backup-results.ts';
import type { ArchiveHost, CommandLimits, ObjectStore } from '../node-backups/host.ts';
import { BACKUP_LIMITS } from '../node-backups/backups.ts';
import type { AwsContext } from './clients.ts';
import { invocationFailure, privateAddressOf, sendScript } from './commands.ts';
import type { ScriptEnvironment } from './run-command.ts';
import { awsErrorCode, call } from './errors.ts';
import { instanceIds, nodeLabel } from './instances.ts';
import { accountOf } from './target.ts';

// Backups and continuous archiving on AWS (the operations are ../node-backups/, the same on every
// cloud): scripts run on the primary over SSM Run Command, streaming between PostgreSQL and the
// account's own backup bucket with the instance profile; the provider reads what they stored with
// the customer's role, from S3 in the bucket's region.

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** What the backup operations run and read through on AWS. */
export function backupHost(context: AwsContext): ArchiveHost {
  const { target, component } = context;
  const account = accountOf(target);
  const awsAccountId = awsAccountIdOf(account.roleArn);
  return {
    planId: target.planId,
    component: { id: component.id, os: component.os, postgres: component.postgres },
    cloud: 'aws',
    // Every `aws s3` call names the bucket's region: the account's bucket says it in its name.
    scriptValues: (bucket) => ({ REGION: backupBucketRegion(bucket) ?? account.region }),
    store: s3Store(context),
    nodeLabel,
    checkNode: (node) => void instanceIds([node]),
    run: async (node, label, script, what, { environment, limits }) =>
      resultOf(await runOnNode(context, node, label, script, environment, limits), what),
    runScript: async (node, label, script, _what, { environment, limits }) =>
      void (await runOnNode(context, node, label, script, environment, limits)),
    archivePrefix: component.backup.s3Prefix,
    // pgBackRest's repository is in the plan's region (renderAwsPgbackrestConf).
    archiveValues: { REGION: account.region },
    ownsBucket: (bucket) => {
      const region = backupBucketRegion(bucket);
      return region !== undefined && awsAccountId !== undefined && bucket === backupBucketName(awsAccountId, region);
    },
    privateAddressOf: (node) => privateAddressOf(context.clients.ec2, node),
    configureScript: component.scripts.configure,
  };
}

/** S3 with the customer's role, in the region of the bucket the object is in. */
function s3Store({ target, clients }: AwsContext): ObjectStore {
  const account = accountOf(target);
  const s3 = (bucket: string): S3Client => clients.s3(backupBucketRegion(bucket) ?? account.region);
  return {
    url: (bucket, key) => `s3://${bucket}/${key}`,
    checkBucket: (bucket) => {
      if (!BUCKET_NAME.test(bucket)) throw new PermanentError(`${JSON.stringify(bucket)} is not an S3 bucket name`);
    },
    exists: (bucket, key) => objectExists(s3(bucket), bucket, key),
    read: (bucket, key, what) => readObject(s3(bucket), bucket, key, what),
    find: async (bucket, key) => {
      try {
        return await readObject(s3(bucket), bucket, key, `s3://${bucket}/${key}`);
      } catch (error) {
        if (error instanceof PermanentError && error.code === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    remove: (bucket, keys) => deleteObjects(s3(bucket), bucket, keys),
  };
}

const waited = (ms: number): string => (ms >= 60_000 ? `${ms / 60_000} minutes` : `${ms / 1000} s`);

/**
 * Runs a script on one node over SSM and waits for it: its standard output, or a PermanentError
 * with the end of its standard error.
 */
export async function runOnNode(
  context: AwsContext,
  node: NodeRef,
  label: string,
  script: string,
  environment: ScriptEnvironment = [],
  limits: CommandLimits = BACKUP_LIMITS,
): Promise<string | undefined> {
  const { ssm } = context.clients;
  const commandId = await sendScript(context, [node.nodeId], label, script, environment, limits.commandSeconds);
  for (let poll = 0; poll < limits.polls; poll += 1) {
    await context.clock.sleep(limits.pollMs);
    let invocation: GetCommandInvocationCommandOutput;
    try {
      invocation = await call('ssm:GetCommandInvocation', () =>
        ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: node.nodeId })),
      );
    } catch (error) {
      // Not visible yet right after SendCommand; throttled: the script runs on regardless, ask again.
      if (awsErrorCode(error) === 'InvocationDoesNotExist' || error instanceof TransientError) continue;
      throw error;
    }
    if (invocation.Status === 'Success') return invocation.StandardOutputContent;
    const failure = invocationFailure(label, invocation, nodeLabel(node));
    if (failure) throw new PermanentError(failure);
  }
  throw new PermanentError(
    `the ${label} of ${context.target.planId}/${context.component.id} on ${nodeLabel(node)} took longer than ${waited(limits.pollMs * limits.polls)} (command ${commandId})`,
  );
}

async function deleteObjects(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  const output = await call('s3:DeleteObject', () =>
    s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } })),
  );
  // Keys that do not exist are deleted all the same; what comes back is what could not be.
  const failed = output.Errors?.[0];
  if (!failed) return;
  const code = failed.Code ?? 'unknown';
  const message = `could not delete s3://${bucket}/${failed.Key ?? keys[0] ?? ''}: ${code}: ${failed.Message ?? ''}`.trim();
  if (code === 'InternalError' || code === 'SlowDown' || code === 'ServiceUnavailable') throw new TransientError(message, { code });
  throw new PermanentError(message, { code });
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await call('s3:GetObject', () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    return true;
  } catch (error) {
    if (awsErrorCode(error) === 'NotFound' || awsErrorCode(error) === 'NoSuchKey') return false;
    throw error;
  }
}

async function readObject(s3: S3Client, bucket: string, key: string, what: string): Promise<string> {
  try {
    const output = await call('s3:GetObject', () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    if (!output.Body) throw new PermanentError(`${what} is empty`);
    return await output.Body.transformToString('utf8');
  } catch (error) {
    if (awsErrorCode(error) === 'NoSuchKey') throw new PermanentError(`${what} does not exist`, { code: 'NoSuchKey', cause: error });
    throw error;
  }
}
