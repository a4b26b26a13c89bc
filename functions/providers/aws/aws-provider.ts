import { createHash, randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Filter, Instance, InstanceStatus, RunInstancesCommandInput, SecurityGroup } from '@aws-sdk/client-ec2';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { GetCommandInvocationCommandOutput, InstanceInformationStringFilter } from '@aws-sdk/client-ssm';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { backupBucketRegion } from '@cloudseed/shared/targets/aws/account';
import { findOs } from '@cloudseed/shared/postgres/os';
import { NotFound } from '@cloudseed/shared/errors';
import { certificateAuthorityParameterFor, replicationPasswordParameterFor } from '@cloudseed/shared/targets/aws/scripts';
import type { AwsComponent, AwsNode, Tag } from '@cloudseed/shared';
import { compareFingerprints } from '../fingerprints.ts';
import type {
  AccountConnection,
  BackupLocation,
  BackupResult,
  CommandKind,
  CommandRef,
  DeployTarget,
  NetworkRef,
  NodeHealth,
  NodeRef,
  Progress,
  Provider,
  ValidationResult,
} from '../provider.ts';
import { backupManifest, backupSummary, restoredFingerprints, restoreOutcome, resultOf, validationOutcome } from './backup-results.ts';
import { backupObjectKeys, backupScript, manifestKey, restoreScript, validateScript, validationKey } from './backup-scripts.ts';
import type { BackupScriptInput } from './backup-scripts.ts';
import { certificatePemOf, createCertificateAuthority } from '../certificates.ts';
import { AccountSessions } from './credentials.ts';
import type { AccountClients, ClientsFactory, Clock } from './credentials.ts';
import { awsErrorCode, call, PermanentError, TransientError } from './errors.ts';
import { desiredIngress, ingressChanges } from './ingress.ts';
import { deleteNodeRole, ensureNodeRole, isProfileNotYetVisible, nodeRoleScope, PROFILE_PROPAGATION } from './node-role.ts';
import { reconcileNodes } from './reconcile.ts';
import { commandComment, failureReason, requireIpv4, shellCommands, verifyScript } from './run-command.ts';
import type { ScriptEnvironment } from './run-command.ts';

// The Provider port on AWS: EC2 instances with SSM as the only way in, in the customer's own
// account. Every method looks before it creates and finds its resources again by their tags
// (cloudseed:plan-id, cloudseed:component, cloudseed:node), so a retried step or a re-run
// execution converges instead of duplicating. Errors are the classes in errors.ts, whose names
// the state machines retry on.

export interface AwsProviderOptions {
  /** Platform-side STS client that assumes the customer's role. Default: standard retries, 5 attempts, the Lambda's region. */
  readonly sts?: STSClient;
  /** Builds EC2 and SSM clients for an account from the assumed role's credentials. Default: standard retries, 5 attempts, the account's region. */
  readonly clientsFor?: ClientsFactory;
  /** Put security groups in this VPC instead of the account's default VPC. */
  readonly vpcId?: string;
  /** Launch into this subnet (and its VPC) instead of the default VPC's default subnet. */
  readonly subnetId?: string;
  /** Send Run Command output to this CloudWatch Logs group (the instance profile must allow it). */
  readonly commandLogGroup?: string;
  readonly clock?: Clock;
}

export const TAG_PLAN_ID = 'cloudseed:plan-id';
export const TAG_COMPONENT = 'cloudseed:component';
export const TAG_NODE = 'cloudseed:node';

const RUN_SHELL_SCRIPT = 'AWS-RunShellScript';
const COMMAND_TIMEOUT_SECONDS: Record<CommandKind, number> = { install: 1800, configure: 600 };
const VERIFY_TIMEOUT_SECONDS = 60;
const VERIFY_POLL_MS = 3_000;
const VERIFY_POLLS = 20;
const TERMINATE_POLL_MS = 10_000;
const TERMINATE_POLLS = 30;
const DEPENDENCY_RETRY_MS = 10_000;
const DEPENDENCY_RETRIES = 12;
// A backup, validation or restore runs on the primary for at most 12 minutes (SSM kills it then),
// and is polled for 13, so that the Lambda that waits for it (15 minutes at most) sees SSM's own
// verdict. Databases whose dump takes longer need the script split from its polling (like install).
const BACKUP_COMMAND_SECONDS = 720;
const BACKUP_POLL_MS = 5_000;
const BACKUP_POLLS = 156;
/** A restore swaps its database in only with this much of its time left: SSM's kill would leave the application database closed. */
const SWAP_MARGIN_SECONDS = 60;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const PASSWORD_LENGTH = 32;
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** States of an instance that still counts as the node (a stopped one is started again by launchNodes, not replaced). */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];
const GONE_OR_GOING = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

function defaultClients(): ClientsFactory {
  return (account, credentials) => {
    const config = { region: account.region, credentials, retryMode: 'standard', maxAttempts: 5 };
    const s3 = new Map<string, S3Client>();
    return {
      ec2: new EC2Client(config),
      ssm: new SSMClient(config),
      // IAM is global; the SDK signs for its one endpoint in the account's partition.
      iam: new IAMClient(config),
      s3: (region) => {
        // followRegionRedirects: a bucket whose name does not say its region still answers, one round trip later.
        const client = s3.get(region) ?? new S3Client({ ...config, region, followRegionRedirects: true });
        s3.set(region, client);
        return client;
      },
    };
  };
}

/** The account's backup bucket says its region in its name; any other bucket is looked for in the plan's region. */
function bucketRegion(location: BackupLocation, account: AccountConnection): string {
  return backupBucketRegion(location.bucket) ?? account.region;
}

/** 32 characters from [A-Za-z0-9], drawn with a CSPRNG (about 190 bits). */
export function generatePassword(): string {
  return Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
}

/** Deterministic per deployment and node, so a retried RunInstances returns the instance the first call started. */
export function clientToken(target: DeployTarget, nodeName: string): string {
  return createHash('sha256')
    .update(JSON.stringify([target.deploymentId, target.planId, target.component.id, nodeName]))
    .digest('hex');
}

export class AwsProvider implements Provider {
  readonly #options: AwsProviderOptions;
  readonly #sessions: AccountSessions;
  readonly #clock: Clock;

  constructor(options: AwsProviderOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    const sts = options.sts ?? new STSClient({ retryMode: 'standard', maxAttempts: 5 });
    this.#sessions = new AccountSessions(sts, options.clientsFor ?? defaultClients(), this.#clock);
  }

  async preflight(target: DeployTarget): Promise<void> {
    const account = accountOf(target);
    checkTags(target);
    desiredIngress(target.component, undefined);
    await this.#sessions.credentials(account, target.deploymentId);
    await this.#vpcId(target, this.#clients(target).ec2);
  }

  async ensurePassword(target: DeployTarget): Promise<void> {
    const { ssm } = this.#clients(target);
    const { component } = target;
    const parameters = [{ name: component.passwordParameter, what: `password of PostgreSQL role ${component.postgres.username}` }];
    if (isCluster(component)) parameters.push({ name: replicationParameter(component), what: 'password of the replication role' });
    const authority = certificateAuthorityParameter(component);
    parameters.push({ name: authority, what: 'certificate authority of the plan (certificate and key)' });
    for (const { name, what } of parameters) {
      const value = name === authority ? await newCertificateAuthority(target.planId) : generatePassword();
      try {
        await call('ssm:PutParameter', () =>
          ssm.send(
            new PutParameterCommand({
              Name: name,
              Description: `CloudSeed ${target.planId}/${component.id}: ${what}`,
              Value: value,
              Type: 'SecureString',
              Overwrite: false,
              Tags: baseTags(component),
            }),
          ),
        );
      } catch (error) {
        // Created by an earlier run: keep it, the server already uses it.
        if (awsErrorCode(error) !== 'ParameterAlreadyExists') throw error;
      }
    }
  }

  async readPassword(target: DeployTarget): Promise<string> {
    const { ssm } = this.#clients(target);
    try {
      const output = await call('ssm:GetParameter', () =>
        ssm.send(new GetParameterCommand({ Name: target.component.passwordParameter, WithDecryption: true })),
      );
      const value = output.Parameter?.Value;
      if (value === undefined) throw new NotFound(`the password of ${target.planId}/${target.component.id} is empty`);
      return value;
    } catch (error) {
      if (awsErrorCode(error) === 'ParameterNotFound')
        throw new NotFound(`the password of ${target.planId}/${target.component.id} does not exist (not deployed yet?)`);
      throw error;
    }
  }

  async readCaCertificate(target: DeployTarget): Promise<string> {
    const { ssm } = this.#clients(target);
    const name = certificateAuthorityParameter(target.component);
    try {
      const output = await call('ssm:GetParameter', () => ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })));
      return certificatePemOf(output.Parameter?.Value ?? '');
    } catch (error) {
      if (awsErrorCode(error) === 'ParameterNotFound')
        throw new NotFound(`the certificate authority of ${target.planId} does not exist (not deployed yet?)`);
      throw error;
    }
  }

  async ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef> {
    const { ec2 } = this.#clients(target);
    const group = (await this.#findSecurityGroup(ec2, target)) ?? (await this.#createSecurityGroup(ec2, target));
    const groupId = group.GroupId!;
    const { authorize, revoke } = ingressChanges(group.IpPermissions ?? [], desiredIngress(target.component, groupId));
    // Authorise before revoking, so a client that stays allowed is never cut off in between.
    if (authorize.length > 0) {
      await convergeRule(
        'ec2:AuthorizeSecurityGroupIngress',
        () =>
          ec2.send(
            new AuthorizeSecurityGroupIngressCommand({
              GroupId: groupId,
              IpPermissions: authorize,
              TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: baseTags(target.component) }],
            }),
          ),
        'InvalidPermission.Duplicate',
      );
    }
    if (revoke.length > 0) {
      await convergeRule(
        'ec2:RevokeSecurityGroupIngress',
        () => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke })),
        'InvalidPermission.NotFound',
      );
    }
    return { securityGroupId: groupId };
  }

  async launchNodes(target: DeployTarget, network: NetworkRef): Promise<NodeRef[]> {
    const { ec2, iam } = this.#clients(target);
    // Nodes that exist are changed to the plan in place, never replaced: their disks hold the data.
    const existing = await reconcileNodes(ec2, this.#clock, target.component, await this.#instancesByNode(ec2, target));
    const missing = target.component.nodes.some((node) => !existing.has(node.name));
    const account = accountOf(target);
    // The plan's own node role, made (or brought to the plan's policy) only when a node is launched.
    const profile = missing ? await ensureNodeRole(iam, nodeRoleScope(account.roleArn, account.region, target.planId)) : undefined;
    const nodes: NodeRef[] = [];
    for (const node of target.component.nodes) {
      const instance = existing.get(node.name) ?? (await this.#runInstance(ec2, target, node, network, profile!));
      nodes.push(nodeRef(target.component, node, instance));
    }
    return nodes;
  }

  async nodesReady(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress> {
    if (nodes.length === 0) return { state: 'failed', reason: 'there are no nodes to wait for' };
    const { ec2, ssm } = this.#clients(target);
    const ids = instanceIds(nodes);
    const instances = new Map(
      (await describeInstances(ec2, [{ Name: 'instance-id', Values: ids }])).map((instance) => [instance.InstanceId, instance]),
    );
    for (const node of nodes) {
      const instance = instances.get(node.instanceId);
      const state = instance?.State?.Name;
      if (state !== undefined && GONE_OR_GOING.has(state)) {
        const why = instance?.StateReason?.Message;
        return { state: 'failed', reason: `node ${node.name} (${node.instanceId}) is ${state}${why ? `: ${why}` : ''}` };
      }
    }
    const agents = await agentPingStatus(ssm, ids);
    const online = nodes.filter(
      (node) => instances.get(node.instanceId)?.State?.Name === 'running' && agents.get(node.instanceId) === 'Online',
    ).length;
    if (online === nodes.length) return { state: 'done' };
    return { state: 'pending', detail: `${online} of ${nodes.length} nodes online` };
  }

  async sendCommand(target: DeployTarget, nodes: readonly NodeRef[], kind: CommandKind): Promise<CommandRef> {
    const { ec2, ssm } = this.#clients(target);
    const ids = instanceIds(nodes);
    const script = target.component.scripts[kind];
    const timeout = COMMAND_TIMEOUT_SECONDS[kind];
    if (kind === 'install' || !isCluster(target.component)) {
      const commandId = await this.#send(ssm, target, ids, kind, script, [], timeout);
      return { kind, commandId, instanceIds: ids };
    }
    // A cluster's nodes are told their role and their peers' private addresses, one command each.
    const environments = await clusterEnvironments(ec2, nodes);
    const commandIds: string[] = [];
    for (const node of nodes) {
      commandIds.push(await this.#send(ssm, target, [node.instanceId], kind, script, environments.get(node.instanceId) ?? [], timeout));
    }
    return { kind, commandId: commandIds.join(','), instanceIds: ids };
  }

  async commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress> {
    const { ssm } = this.#clients(target);
    return invocationsStatus(ssm, command.kind, splitCommandIds(command), (instanceId) => instanceId);
  }

  async verify(target: DeployTarget, nodes: readonly NodeRef[]): Promise<void> {
    const account = accountOf(target);
    const { ssm } = this.#clients(target);
    const ids = instanceIds(nodes);
    const commandId = await this.#send(ssm, target, ids, 'verify', verifyScript(target.component, account.region), [], VERIFY_TIMEOUT_SECONDS);
    const names = new Map(nodes.map((node) => [node.instanceId, `${node.name} (${node.instanceId})`]));
    const pairs = ids.map((instanceId) => ({ commandId, instanceId }));
    for (let poll = 0; poll < VERIFY_POLLS; poll += 1) {
      await this.#clock.sleep(VERIFY_POLL_MS);
      const progress = await invocationsStatus(ssm, 'verification', pairs, (instanceId) => names.get(instanceId) ?? instanceId);
      if (progress.state === 'done') return;
      if (progress.state === 'failed') throw new PermanentError(progress.reason);
    }
    throw new TransientError(
      `the verification of ${target.planId}/${target.component.id} did not finish within ${(VERIFY_POLL_MS * VERIFY_POLLS) / 1000} s`,
    );
  }

  async health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
    if (nodes.length === 0) return [];
    const { ec2 } = this.#clients(target);
    const statuses = await instanceStatuses(ec2, instanceIds(nodes));
    return nodes.map((node) => {
      const status = statuses.get(node.instanceId);
      const unhealthy = (detail: string): NodeHealth => ({ name: node.name, role: node.role, healthy: false, detail });
      if (!status) return unhealthy('the instance does not exist');
      const state = status.InstanceState?.Name ?? 'unknown';
      if (state !== 'running') return unhealthy(`the instance is ${state}`);
      const system = status.SystemStatus?.Status ?? 'unknown';
      const instance = status.InstanceStatus?.Status ?? 'unknown';
      if (system !== 'ok' || instance !== 'ok') return unhealthy(`status checks: system ${system}, instance ${instance}`);
      return { name: node.name, role: node.role, healthy: true };
    });
  }

  async destroy(target: DeployTarget): Promise<void> {
    const { ec2, ssm, iam } = this.#clients(target);
    const filters: Filter[] = [...componentFilters(target), { Name: 'instance-state-name', Values: [...LIVE_STATES, 'shutting-down'] }];
    let instances = await describeInstances(ec2, filters);
    if (instances.length > 0) {
      const ids = instances.map((instance) => instance.InstanceId!);
      await call('ec2:TerminateInstances', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
    }
    for (let poll = 0; instances.length > 0; poll += 1) {
      if (poll === TERMINATE_POLLS) {
        throw new TransientError(`${instances.length} instance(s) of ${target.planId}/${target.component.id} are still shutting down`);
      }
      await this.#clock.sleep(TERMINATE_POLL_MS);
      instances = await describeInstances(ec2, filters);
    }

    const group = await this.#findSecurityGroup(ec2, target);
    if (group?.GroupId) await this.#deleteSecurityGroup(ec2, group.GroupId);

    const names = [target.component.passwordParameter, replicationParameter(target.component), certificateAuthorityParameter(target.component)];
    // Names that do not exist come back in InvalidParameters, not as an error.
    await call('ssm:DeleteParameters', () => ssm.send(new DeleteParametersCommand({ Names: names })));

    // The node role is the plan's, shared by its components: it goes with the plan's last instance.
    const planInstances = await describeInstances(ec2, [
      { Name: `tag:${TAG_PLAN_ID}`, Values: [target.planId] },
      { Name: 'instance-state-name', Values: [...LIVE_STATES, 'shutting-down'] },
    ]);
    if (planInstances.length === 0) await deleteNodeRole(iam, target.planId);
  }

  // Backups run on the primary (backup-scripts.ts), which streams between PostgreSQL and the
  // account's own backup bucket with its instance profile; the provider starts them, waits for
  // them, and reads what they stored with the customer's role.

  async backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
    const input = this.#backupInput(target, primary, location);
    const { ssm } = this.#clients(target);
    const s3 = this.#s3(target, location);
    const what = `the backup of ${target.planId}/${target.component.id} on ${nodeLabel(primary)}`;
    try {
      const summary = backupSummary(resultOf(await this.#runOnPrimary(ssm, target, primary, 'backup', backupScript(input)), what), what);
      const manifestUrl = objectUrl(location.bucket, manifestKey(location.key));
      const manifest = backupManifest(
        await readObject(s3, location.bucket, manifestKey(location.key), `the backup's manifest ${manifestUrl}`),
        `the manifest ${manifestUrl}`,
      );
      if (manifest.sha256 !== summary.sha256 || manifest.sizeBytes !== summary.sizeBytes || manifest.tables.length !== summary.tableCount) {
        throw new PermanentError(
          `the manifest ${manifestUrl} does not describe the dump ${what} reported (sha256 ${summary.sha256}, ${summary.sizeBytes} bytes, ${summary.tableCount} tables)`,
        );
      }
      return {
        sizeBytes: summary.sizeBytes,
        sha256: summary.sha256,
        durationMs: summary.durationMs,
        serverVersion: summary.serverVersion,
        tables: manifest.tables,
      };
    } catch (error) {
      // The script removes what it stored when it fails, but not when SSM kills it at its timeout.
      await this.#deleteObjects(s3, location).catch(() => undefined);
      throw error;
    }
  }

  async validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
    const input = { ...this.#backupInput(target, primary, location), recordedSha256: recordedSha256(recorded) };
    const { ssm } = this.#clients(target);
    const s3 = this.#s3(target, location);
    if (!(await objectExists(s3, location.bucket, location.key)))
      return { status: 'failed', detail: `the backup object ${objectUrl(location.bucket, location.key)} does not exist` };
    const what = `the validation of backup ${objectUrl(location.bucket, location.key)} on ${nodeLabel(primary)}`;
    const outcome = validationOutcome(
      resultOf(await this.#runOnPrimary(ssm, target, primary, 'backup-validation', validateScript(input)), what),
      what,
    );
    if (outcome.status === 'failed') return outcome;
    const reportUrl = objectUrl(location.bucket, validationKey(location.key));
    const restored = restoredFingerprints(
      await readObject(s3, location.bucket, validationKey(location.key), `the fingerprints of the restored copy ${reportUrl}`),
      reportUrl,
    );
    if (restored.length !== outcome.tableCount)
      throw new PermanentError(`${reportUrl} holds ${restored.length} tables, but ${what} fingerprinted ${outcome.tableCount}`);
    return compareFingerprints(recorded.tables, restored);
  }

  async restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
    const input = { ...this.#backupInput(target, primary, location), recordedSha256: recordedSha256(recorded) };
    const { ssm } = this.#clients(target);
    const s3 = this.#s3(target, location);
    const url = objectUrl(location.bucket, location.key);
    if (!(await objectExists(s3, location.bucket, location.key)))
      throw new PermanentError(`the backup object ${url} does not exist; nothing was restored`);
    const what = `the restore of ${url} into ${target.planId}/${target.component.id} on ${nodeLabel(primary)}`;
    const script = restoreScript({ ...input, swapDeadlineSeconds: BACKUP_COMMAND_SECONDS - SWAP_MARGIN_SECONDS });
    const outcome = restoreOutcome(resultOf(await this.#runOnPrimary(ssm, target, primary, 'restore', script), what), what);
    if (outcome.sha256 !== recorded.sha256)
      throw new PermanentError(`${what} restored an object with sha256 ${outcome.sha256}, not the recorded ${recorded.sha256}`);
  }

  async deleteBackup(target: DeployTarget, location: BackupLocation): Promise<void> {
    checkLocation(location);
    await this.#deleteObjects(this.#s3(target, location), location);
  }

  #clients(target: DeployTarget): AccountClients {
    return this.#sessions.clients(accountOf(target), target.deploymentId);
  }

  /** S3 with the customer's role, in the region of the bucket the backup is in. */
  #s3(target: DeployTarget, location: BackupLocation): S3Client {
    return this.#clients(target).s3(bucketRegion(location, accountOf(target)));
  }

  /** Everything a backup script needs, checked before anything is sent. */
  #backupInput(target: DeployTarget, primary: NodeRef, location: BackupLocation): BackupScriptInput {
    const account = accountOf(target);
    checkLocation(location);
    if (primary.role !== 'primary') throw new PermanentError(`backups run on the primary, not on ${primary.role} ${primary.name}`);
    instanceIds([primary]);
    const { os, postgres } = target.component;
    for (const name of [postgres.databaseName, postgres.username])
      if (!SQL_NAME.test(name)) throw new PermanentError(`${name} is not a database or role name CloudSeed creates`);
    const image = findOs(os.name, os.version);
    if (!image?.pgMajors.includes(postgres.major))
      throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major} for CloudSeed to back up`);
    return {
      bucket: location.bucket,
      key: location.key,
      region: bucketRegion(location, account),
      database: postgres.databaseName,
      owner: postgres.username,
      port: postgres.port,
      binDir: image.binDir(postgres.major),
    };
  }

  /** Runs a backup script on the primary and waits for it; its standard output, or a PermanentError with the end of its standard error. */
  async #runOnPrimary(ssm: SSMClient, target: DeployTarget, primary: NodeRef, label: string, script: string): Promise<string | undefined> {
    const commandId = await this.#send(ssm, target, [primary.instanceId], label, script, [], BACKUP_COMMAND_SECONDS);
    for (let poll = 0; poll < BACKUP_POLLS; poll += 1) {
      await this.#clock.sleep(BACKUP_POLL_MS);
      let invocation: GetCommandInvocationCommandOutput;
      try {
        invocation = await call('ssm:GetCommandInvocation', () =>
          ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: primary.instanceId })),
        );
      } catch (error) {
        // Not visible yet right after SendCommand; throttled: the script runs on regardless, ask again.
        if (awsErrorCode(error) === 'InvocationDoesNotExist' || error instanceof TransientError) continue;
        throw error;
      }
      if (invocation.Status === 'Success') return invocation.StandardOutputContent;
      const failure = invocationFailure(label, invocation, nodeLabel(primary));
      if (failure) throw new PermanentError(failure);
    }
    const minutes = (BACKUP_POLL_MS * BACKUP_POLLS) / 60_000;
    throw new PermanentError(
      `the ${label} of ${target.planId}/${target.component.id} on ${nodeLabel(primary)} took longer than ${minutes} minutes (command ${commandId})`,
    );
  }

  async #deleteObjects(s3: S3Client, location: BackupLocation): Promise<void> {
    const output = await call('s3:DeleteObject', () =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: location.bucket,
          Delete: { Objects: backupObjectKeys(location.key).map((Key) => ({ Key })), Quiet: true },
        }),
      ),
    );
    // Keys that do not exist are deleted all the same; what comes back is what could not be.
    const failed = output.Errors?.[0];
    if (!failed) return;
    const code = failed.Code ?? 'unknown';
    const message = `could not delete ${objectUrl(location.bucket, failed.Key ?? location.key)}: ${code}: ${failed.Message ?? ''}`.trim();
    if (code === 'InternalError' || code === 'SlowDown' || code === 'ServiceUnavailable') throw new TransientError(message, { code });
    throw new PermanentError(message, { code });
  }

  async #vpcId(target: DeployTarget, ec2: EC2Client): Promise<string> {
    if (this.#options.vpcId) return this.#options.vpcId;
    const region = accountOf(target).region;
    const subnetId = this.#options.subnetId;
    if (subnetId) {
      const output = await call('ec2:DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })));
      const vpcId = output.Subnets?.[0]?.VpcId;
      if (!vpcId) throw new PermanentError(`subnet ${subnetId} does not exist in ${region}`);
      return vpcId;
    }
    const output = await call('ec2:DescribeVpcs', () => ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })));
    const vpcId = output.Vpcs?.[0]?.VpcId;
    if (!vpcId)
      throw new PermanentError(
        `the account has no default VPC in ${region}; create one (aws ec2 create-default-vpc) or configure a VPC for CloudSeed`,
      );
    return vpcId;
  }

  async #findSecurityGroup(ec2: EC2Client, target: DeployTarget): Promise<SecurityGroup | undefined> {
    const filters: Filter[] = [{ Name: 'group-name', Values: [target.component.securityGroup.GroupName] }, ...componentFilters(target)];
    if (this.#options.vpcId) filters.push({ Name: 'vpc-id', Values: [this.#options.vpcId] });
    const output = await call('ec2:DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters })));
    return output.SecurityGroups?.find((group) => group.GroupId !== undefined);
  }

  async #createSecurityGroup(ec2: EC2Client, target: DeployTarget): Promise<SecurityGroup> {
    const { GroupName, Description, tags } = target.component.securityGroup;
    const vpcId = await this.#vpcId(target, ec2);
    try {
      const output = await call('ec2:CreateSecurityGroup', () =>
        ec2.send(
          new CreateSecurityGroupCommand({
            GroupName,
            Description,
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: [...tags] }],
          }),
        ),
      );
      if (!output.GroupId) throw new TransientError(`ec2:CreateSecurityGroup returned no group id for ${GroupName}`);
      // A new group has no ingress rules (and the default egress, which stays).
      return { GroupId: output.GroupId, IpPermissions: [] };
    } catch (error) {
      if (awsErrorCode(error) !== 'InvalidGroup.Duplicate') throw error;
      // Created concurrently, or by a run whose tags did not match: only a tagged one is ours.
      const group = await this.#findSecurityGroup(ec2, target);
      if (!group)
        throw new PermanentError(`a security group named ${GroupName} exists in ${vpcId} but is not tagged as this plan's`, {
          code: 'InvalidGroup.Duplicate',
          cause: error,
        });
      return group;
    }
  }

  async #deleteSecurityGroup(ec2: EC2Client, groupId: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await call('ec2:DeleteSecurityGroup', () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })));
        return;
      } catch (error) {
        const code = awsErrorCode(error);
        if (code === 'InvalidGroup.NotFound') return;
        // The terminated instances' network interfaces take a while to let go of the group.
        if (code !== 'DependencyViolation') throw error;
        if (attempt === DEPENDENCY_RETRIES) throw new TransientError(`security group ${groupId} is still in use`, { code, cause: error });
        await this.#clock.sleep(DEPENDENCY_RETRY_MS);
      }
    }
  }

  async #instancesByNode(ec2: EC2Client, target: DeployTarget): Promise<Map<string, Instance>> {
    const names = target.component.nodes.map((node) => node.name);
    const instances = await describeInstances(ec2, [
      ...componentFilters(target),
      { Name: `tag:${TAG_NODE}`, Values: names },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
    // Should two ever carry one node's tag, the oldest is the node: the same answer on every run.
    instances.sort(
      (a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0) || (a.InstanceId ?? '').localeCompare(b.InstanceId ?? ''),
    );
    const byNode = new Map<string, Instance>();
    for (const instance of instances) {
      const node = instance.Tags?.find((tag) => tag.Key === TAG_NODE)?.Value;
      if (node !== undefined && !byNode.has(node)) byNode.set(node, instance);
    }
    return byNode;
  }

  async #runInstance(ec2: EC2Client, target: DeployTarget, node: AwsNode, network: NetworkRef, instanceProfileName: string): Promise<Instance> {
    // The transformer leaves the deploy-time fields out; whatever it might carry for them, or a
    // key pair (there is no SSH), is replaced or dropped here.
    const {
      KeyName: _keyName,
      ClientToken: _token,
      SecurityGroupIds: _groups,
      SubnetId: _subnet,
      IamInstanceProfile: _profile,
      TagSpecifications: _tags,
      ...rendered
    } = target.component.runInstances;
    const input = {
      ...rendered,
      SecurityGroupIds: [network.securityGroupId],
      ...(this.#options.subnetId ? { SubnetId: this.#options.subnetId } : {}),
      IamInstanceProfile: { Name: instanceProfileName },
      ClientToken: clientToken(target, node.name),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [...node.tags] },
        { ResourceType: 'volume', Tags: [...node.tags] },
      ],
    } as RunInstancesCommandInput;
    const output = await this.#runInstances(ec2, input);
    const instance = output.Instances?.[0];
    if (!instance?.InstanceId) throw new TransientError(`ec2:RunInstances returned no instance for ${node.name}`);
    return instance;
  }

  /** RunInstances, waiting out a new instance profile that EC2 does not see yet (the ClientToken makes the repeat safe). */
  async #runInstances(ec2: EC2Client, input: RunInstancesCommandInput) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call('ec2:RunInstances', () => ec2.send(new RunInstancesCommand(input)));
      } catch (error) {
        if (!isProfileNotYetVisible(error)) throw error;
        if (attempt === PROFILE_PROPAGATION.retries)
          throw new TransientError(`EC2 does not see instance profile ${input.IamInstanceProfile?.Name ?? ''} yet`, {
            code: 'InvalidParameterValue',
            cause: error,
          });
        await this.#clock.sleep(PROFILE_PROPAGATION.delayMs);
      }
    }
  }

  async #send(
    ssm: SSMClient,
    target: DeployTarget,
    ids: readonly string[],
    label: string,
    script: string,
    environment: ScriptEnvironment,
    timeoutSeconds: number,
  ): Promise<string> {
    const logGroup = this.#options.commandLogGroup;
    const output = await call('ssm:SendCommand', () =>
      ssm.send(
        new SendCommandCommand({
          DocumentName: RUN_SHELL_SCRIPT,
          InstanceIds: [...ids],
          Parameters: { commands: shellCommands(label, script, environment), executionTimeout: [String(timeoutSeconds)] },
          TimeoutSeconds: timeoutSeconds,
          Comment: commandComment(target.planId, target.component.id, label),
          ...(logGroup ? { CloudWatchOutputConfig: { CloudWatchLogGroupName: logGroup, CloudWatchOutputEnabled: true } } : {}),
        }),
      ),
    );
    const commandId = output.Command?.CommandId;
    if (!commandId) throw new TransientError(`ssm:SendCommand returned no command id for ${label}`);
    return commandId;
  }
}

function accountOf(target: DeployTarget): AccountConnection {
  if (!target.account) {
    throw new PermanentError(
      `plan ${target.planId} deploys to AWS but no AWS account is connected; connect the account (role ARN and ExternalId) and deploy again`,
    );
  }
  return target.account;
}

/** The rendered tags must name the plan and component the steps look them up by. */
function checkTags(target: DeployTarget): void {
  const { component } = target;
  const tagged = [...component.securityGroup.tags, ...component.nodes.flatMap((node) => node.tags)];
  const wrong = (key: string, value: string) =>
    tagged.filter((tag) => tag.Key === key).some((tag) => tag.Value !== value) || !tagged.some((tag) => tag.Key === key);
  if (wrong(TAG_PLAN_ID, target.planId) || wrong(TAG_COMPONENT, component.id)) {
    throw new PermanentError(`component ${component.id} was rendered for another plan or component than ${target.planId}/${component.id}`);
  }
  for (const node of component.nodes) {
    if (!node.tags.some((tag) => tag.Key === TAG_NODE && tag.Value === node.name))
      throw new PermanentError(`node ${node.name} is not tagged with its name`);
  }
}

function isCluster(component: AwsComponent): boolean {
  return component.securityGroup.replicationBetweenNodes || component.nodes.length > 1;
}

function replicationParameter(component: AwsComponent): string {
  return component.replicationPasswordParameter ?? replicationPasswordParameterFor(component.passwordParameter);
}

const certificateAuthorityParameter = (component: AwsComponent): string => certificateAuthorityParameterFor(component.passwordParameter);

/** The CA as the nodes read it: certificate, then key, in one SecureString (well under the standard tier's 4 KB). */
async function newCertificateAuthority(planId: string): Promise<string> {
  const authority = await createCertificateAuthority(`CloudSeed CA for plan ${planId}`);
  return `${authority.certificatePem}${authority.privateKeyPem}`;
}

/** The plan's own tags (cloudseed:managed, cloudseed:plan-id, cloudseed:component), for resources that have no rendered tags of their own. */
function baseTags(component: AwsComponent): Tag[] {
  return component.securityGroup.tags.filter((tag) => tag.Key.startsWith('cloudseed:'));
}

function componentFilters(target: DeployTarget): Filter[] {
  return [
    { Name: `tag:${TAG_PLAN_ID}`, Values: [target.planId] },
    { Name: `tag:${TAG_COMPONENT}`, Values: [target.component.id] },
  ];
}

function instanceIds(nodes: readonly NodeRef[]): string[] {
  if (nodes.length === 0) throw new PermanentError('there are no nodes to run on');
  return nodes.map((node) => {
    if (!INSTANCE_ID.test(node.instanceId)) throw new PermanentError(`node ${node.name} has no EC2 instance id (${node.instanceId})`);
    return node.instanceId;
  });
}

function nodeRef(component: AwsComponent, node: AwsNode, instance: Instance): NodeRef {
  const host = instance.PublicIpAddress ?? instance.PrivateIpAddress;
  return { name: node.name, role: node.role, instanceId: instance.InstanceId!, ...(host ? { host } : {}), port: component.postgres.port };
}

async function convergeRule(action: string, send: () => Promise<unknown>, raceCode: string): Promise<void> {
  try {
    await call(action, send);
  } catch (error) {
    // Someone changed the group between our read and this write: read again on the retry.
    if (awsErrorCode(error) === raceCode)
      throw new TransientError(`${action} raced with another change to the security group`, { code: raceCode, cause: error });
    throw error;
  }
}

async function describeInstances(ec2: EC2Client, filters: Filter[]): Promise<Instance[]> {
  const instances: Instance[] = [];
  let token: string | undefined;
  do {
    const page = await call('ec2:DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
    );
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
    token = page.NextToken;
  } while (token);
  return instances;
}

async function agentPingStatus(ssm: SSMClient, ids: string[]): Promise<Map<string, string>> {
  const filters: InstanceInformationStringFilter[] = [{ Key: 'InstanceIds', Values: ids }];
  const status = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await call('ssm:DescribeInstanceInformation', () =>
      ssm.send(new DescribeInstanceInformationCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
    );
    for (const info of page.InstanceInformationList ?? []) if (info.InstanceId && info.PingStatus) status.set(info.InstanceId, info.PingStatus);
    token = page.NextToken;
  } while (token);
  return status;
}

async function instanceStatuses(ec2: EC2Client, ids: string[]): Promise<Map<string, InstanceStatus>> {
  const describe = async (instanceIds: string[]) => {
    const output = await call('ec2:DescribeInstanceStatus', () =>
      ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: instanceIds, IncludeAllInstances: true })),
    );
    return output.InstanceStatuses ?? [];
  };
  let statuses: InstanceStatus[];
  try {
    statuses = await describe(ids);
  } catch (error) {
    if (awsErrorCode(error) !== 'InvalidInstanceID.NotFound') throw error;
    // One unknown id fails the whole call; ask for each on its own so the others still report.
    statuses = [];
    for (const id of ids) {
      try {
        statuses.push(...(await describe([id])));
      } catch (inner) {
        if (awsErrorCode(inner) !== 'InvalidInstanceID.NotFound') throw inner;
      }
    }
  }
  return new Map(statuses.flatMap((status) => (status.InstanceId ? [[status.InstanceId, status] as const] : [])));
}

/** Per node of a cluster: its role, and the private address of the primary (replicas) or of the replicas (primary). */
async function clusterEnvironments(ec2: EC2Client, nodes: readonly NodeRef[]): Promise<Map<string, ScriptEnvironment>> {
  const primaries = nodes.filter((node) => node.role === 'primary');
  if (primaries.length !== 1) throw new PermanentError(`a cluster needs exactly one primary node, not ${primaries.length}`);
  const primary = primaries[0]!;
  const instances = await describeInstances(ec2, [{ Name: 'instance-id', Values: nodes.map((node) => node.instanceId) }]);
  const privateIp = (node: NodeRef) =>
    requireIpv4(instances.find((instance) => instance.InstanceId === node.instanceId)?.PrivateIpAddress, `node ${node.name} (${node.instanceId})`);
  const primaryIp = privateIp(primary);
  const replicaIps = nodes.filter((node) => node.role === 'replica').map(privateIp);
  return new Map(
    nodes.map((node) => [
      node.instanceId,
      node === primary
        ? [
            ['CLOUDSEED_NODE_ROLE', 'primary'],
            ['CLOUDSEED_REPLICA_HOSTS', replicaIps.join(' ')],
          ]
        : [
            ['CLOUDSEED_NODE_ROLE', 'replica'],
            ['CLOUDSEED_PRIMARY_HOST', primaryIp],
          ],
    ]),
  );
}

/** A CommandRef's commandId is one id for all its instances, or one per instance joined with ','. */
function splitCommandIds(command: CommandRef): Array<{ commandId: string; instanceId: string }> {
  const ids = command.commandId.split(',');
  if (ids.some((id) => id === '') || (ids.length !== 1 && ids.length !== command.instanceIds.length) || command.instanceIds.length === 0) {
    throw new PermanentError(`command reference ${command.commandId} does not match its ${command.instanceIds.length} instance(s)`);
  }
  return command.instanceIds.map((instanceId, index) => ({ commandId: ids.length === 1 ? ids[0]! : ids[index]!, instanceId }));
}

async function invocationsStatus(
  ssm: SSMClient,
  label: string,
  invocations: ReadonlyArray<{ commandId: string; instanceId: string }>,
  describe: (instanceId: string) => string,
): Promise<Progress> {
  let finished = 0;
  let pending = false;
  for (const { commandId, instanceId } of invocations) {
    let invocation;
    try {
      invocation = await call('ssm:GetCommandInvocation', () =>
        ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
      );
    } catch (error) {
      // Right after SendCommand the invocation may not be visible yet.
      if (awsErrorCode(error) === 'InvocationDoesNotExist') {
        pending = true;
        continue;
      }
      throw error;
    }
    if (invocation.Status === 'Success') {
      finished += 1;
      continue;
    }
    const failure = invocationFailure(label, invocation, describe(instanceId));
    if (failure) return { state: 'failed', reason: failure };
    // Pending, InProgress, Delayed.
    pending = true;
  }
  if (!pending) return { state: 'done' };
  return { state: 'pending', detail: `${finished} of ${invocations.length} nodes finished ${label}` };
}

/** Why an invocation that ended without success did, with the end of its standard error; undefined while it runs. */
function invocationFailure(label: string, invocation: GetCommandInvocationCommandOutput, where: string): string | undefined {
  const outcomes: Partial<Record<string, string>> = {
    Failed: 'failed',
    TimedOut: 'timed out',
    Cancelled: 'was cancelled',
    Cancelling: 'was cancelled',
  };
  const outcome = invocation.Status === undefined ? undefined : outcomes[invocation.Status];
  if (!outcome) return undefined;
  const exit = invocation.ResponseCode !== undefined && invocation.ResponseCode >= 0 ? ` (exit ${invocation.ResponseCode})` : '';
  return failureReason(`${label} ${outcome} on ${where}${exit}`, invocation.StandardErrorContent);
}

function nodeLabel(node: NodeRef): string {
  return `${node.name} (${node.instanceId})`;
}

function objectUrl(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** A bucket S3 would accept, and a key with room for the longest suffix and nothing a shell or a log line would trip on. */
function checkLocation(location: BackupLocation): void {
  if (!BUCKET_NAME.test(location.bucket)) throw new PermanentError(`${JSON.stringify(location.bucket)} is not an S3 bucket name`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (location.key === '' || location.key.length > 1000 || /[\u0000-\u001f\u007f]/.test(location.key))
    throw new PermanentError(`${JSON.stringify(location.key)} is not a backup object key`);
}

function recordedSha256(recorded: BackupResult): string {
  if (!SHA256_HEX.test(recorded.sha256)) throw new PermanentError(`the recorded sha256 ${JSON.stringify(recorded.sha256)} is not a sha256`);
  return recorded.sha256;
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
