import { quoteIdentifier, quoteLiteral } from '@cloudseed/shared/postgres/sql';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK_CIDRS } from '@cloudseed/shared/targets/local/local-json';
import {
  productionSettings,
  renderPgHba,
  renderPgIdent,
  renderPostgresqlConf,
  REPLICATION_USER,
  tuneComponent,
} from '@cloudseed/shared/postgres/config';
import { planNodes } from '@cloudseed/shared/postgres/nodes';
import type { PlannedNode } from '@cloudseed/shared/postgres/nodes';
import type { Component, ServerLayout } from '@cloudseed/shared';
import { PermanentError, TransientError } from '../errors.ts';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type {
  ArchiveBackupResult,
  RecoveryTarget,
  RecoveryWindow,
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
import {
  checkArchiving,
  clearRecoverySettings,
  ensureStanza,
  recoveryWindowOf,
  removeStanza,
  restoreDataDir,
  takeArchiveBackup,
  timelineHistoryOf,
  validateArchiveBackup,
  waitUntilWritable,
  writeArchiveConfig,
} from './archive.ts';
import type { Archive, ArchiveRepository } from './archive.ts';
import { backupDatabase, deleteBackupObjects, restoreBackupObject, validateBackupObject } from './backup.ts';
import type { DatabaseRef } from './backup.ts';
import type { KeyAndCertificate } from '../certificates.ts';
import { describeFailure, postgresAccount, run } from './exec.ts';
import { ensureDir, exists, readTextIfExists, writeFileAtomic } from './files.ts';
import { withLock } from './lock.ts';
import { listNodes, readNodeRecord, writeNodeRecord } from './nodes.ts';
import type { NodeRecord } from './nodes.ts';
import {
  certificateAuthorityFile,
  commandsDir,
  instancesRoot,
  nodePaths,
  passwordFile,
  pathsOf,
  planInstancesDir,
  planSecretsDir,
  replicationPasswordFile,
  safeName,
  secretsRoot,
} from './paths.ts';
import type { NodePaths } from './paths.ts';
import { reserveLoopbackPorts } from './ports.ts';
import { ensureCertificateAuthority, ensureSecret, readCertificateAuthority, readSecret, scramVerifier } from './secrets.ts';
import {
  DEFAULT_POSTGRES_ROOT,
  adminSql,
  basebackup,
  binDirOf,
  emptyPostgresDir,
  checkConfig,
  conninfo,
  ensureServerCertificate,
  initdb,
  installedMajors,
  isInitialised,
  isRunning,
  isStandby,
  missingPrograms,
  prepareNodeDirs,
  readiness,
  reloadServer,
  removeNodeDir,
  restartServer,
  startServer,
  stopServer,
  writeServerConfig,
} from './server.ts';
import type { Server } from './server.ts';

// The local cloud's compute: each node of a component is a real PostgreSQL server on this machine,
// run as the postgres OS user, listening on its own loopback port with TLS and SCRAM, tuned and
// secured by the same renderers that write the configuration on EC2.

const GiB = 1024 ** 3;
/** Settings a hot standby must hold at least as high as its primary (PostgreSQL refuses to replay otherwise). */
const HOT_STANDBY_LIMITS = ['max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction'];

export interface LocalProviderOptions {
  /** CLOUDSEED_HOME: instances, secrets and faults.json live under it. */
  readonly home: string;
  /** Where PostgreSQL majors are installed as `<root>/<major>/bin`; Debian's layout by default. */
  readonly postgresRoot?: string;
  /** pgBackRest's repository (the local cloud's S3 over TLS); without one the servers do not archive. */
  readonly archive?: ArchiveRepository;
}

/** A deployment this machine cannot run; said before anything is created. */
export class PreflightRefused extends PermanentError {
  override readonly name = 'PreflightRefused';
}

interface CommandOutcome {
  readonly kind: CommandKind;
  readonly commandId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly progress: Progress;
}

interface LocalNode {
  readonly record: NodeRecord;
  readonly paths: NodePaths;
  readonly server: Server;
}

export class LocalProvider implements Provider {
  readonly #home: string;
  readonly #postgresRoot: string;

  readonly #archive: ArchiveRepository | undefined;

  constructor(options: LocalProviderOptions) {
    this.#home = options.home;
    this.#postgresRoot = options.postgresRoot ?? DEFAULT_POSTGRES_ROOT;
    this.#archive = options.archive;
  }

  async preflight(target: DeployTarget): Promise<void> {
    const major = majorOf(target.component);
    const installed = await installedMajors(this.#postgresRoot);
    if (!installed.includes(major)) {
      const choice = installed.length > 0 ? `choose ${installed.join(' or ')} or ` : '';
      throw new PreflightRefused(
        `PostgreSQL ${major} is not installed on this machine (installed: ${installed.join(', ') || 'none'}); ${choice}install postgresql-${major}`,
      );
    }
    const missing = await missingPrograms(binDirOf(this.#postgresRoot, major));
    if (missing.length > 0)
      throw new PreflightRefused(`PostgreSQL ${major} on this machine lacks ${missing.join(', ')}; reinstall postgresql-${major}`);

    const spec = target.component;
    const nodes = planNodes(spec).length;
    const asked = spec.hardware.memoryGiB * nodes;
    const { total, kept, usable } = machineMemoryGiB();
    const committed = await committedMemoryGiB(this.#home, target);
    if (asked + committed.memoryGiB > usable) {
      const taken =
        committed.nodes === 0
          ? ''
          : `, of which ${gib(committed.memoryGiB)} GiB is already promised to ${committed.nodes} node${committed.nodes === 1 ? '' : 's'} deployed here, leaving ${gib(Math.max(0, usable - committed.memoryGiB))} GiB`;
      throw new PreflightRefused(
        `the plan asks for ${gib(asked)} GiB of memory (${gib(spec.hardware.memoryGiB)} GiB × ${nodes} node${nodes === 1 ? '' : 's'}), ` +
          `but this machine can give at most ${gib(usable)} GiB (${gib(total)} GiB installed, ${gib(kept)} GiB kept for the system)${taken}; ` +
          `choose less memory or fewer replicas${committed.nodes === 0 ? '' : ', or delete a plan that runs here'}`,
      );
    }
    await ensureHomeReachable(this.#home);
  }

  async ensurePassword(target: DeployTarget): Promise<void> {
    await ensureDir(secretsRoot(this.#home), 0o700);
    await ensureDir(planSecretsDir(this.#home, target.planId), 0o700);
    await ensureSecret(passwordFile(this.#home, target.planId, target.component.id));
    if (isClustered(target.component)) await ensureSecret(replicationPasswordFile(this.#home, target.planId, target.component.id));
    await ensureCertificateAuthority(certificateAuthorityFile(this.#home, target.planId), `CloudSeed CA for plan ${target.planId}`);
  }

  async readCaCertificate(target: DeployTarget): Promise<string> {
    return (await this.#authorityOf(target)).certificatePem;
  }

  async readPassword(target: DeployTarget): Promise<string> {
    return await readSecret(passwordFile(this.#home, target.planId, target.component.id), `the password of ${target.planId}/${target.component.id}`);
  }

  ensureSecurityGroup(target: DeployTarget): Promise<NetworkRef> {
    // Nothing to create: locally the "security group" is pg_hba.conf, written at configure.
    return Promise.resolve().then(() => ({
      networkId: `local-${safeName('plan id', target.planId)}-${safeName('component id', target.component.id)}`,
    }));
  }

  async launchNodes(target: DeployTarget, _network: NetworkRef): Promise<NodeRef[]> {
    await ensureHomeReachable(this.#home);
    await ensureDir(planInstancesDir(this.#home, target.planId), 0o711);
    return withLock(`ports:${this.#home}`, async () => {
      const taken = new Set((await listNodes(this.#home)).map((node) => node.record.port));
      const records: NodeRecord[] = [];
      const unlaunched: PlannedNode[] = [];
      const planned = planNodes(target.component);
      for (const node of planned) {
        const record = await readNodeRecord(nodePaths(this.#home, target.planId, node.name));
        if (record) records.push(record);
        else unlaunched.push(node);
      }
      const ports = await reserveLoopbackPorts(unlaunched.length, taken);
      for (const [index, node] of unlaunched.entries()) {
        const record: NodeRecord = {
          planId: target.planId,
          componentId: target.component.id,
          name: node.name,
          role: node.role,
          major: majorOf(target.component),
          port: ports[index] ?? 0,
          running: false,
          memoryGiB: target.component.hardware.memoryGiB,
        };
        const paths = nodePaths(this.#home, target.planId, node.name);
        await prepareNodeDirs(paths);
        await writeNodeRecord(paths, record);
        records.push(record);
      }
      return planned.map((node) => {
        const record = records.find((candidate) => candidate.name === node.name);
        if (!record) throw new PermanentError(`node ${node.name} was not launched`);
        return { name: node.name, role: node.role, nodeId: nodeIdOf(target.planId, node.name), host: '127.0.0.1', port: record.port };
      });
    });
  }

  async nodesReady(target: DeployTarget, nodes: readonly NodeRef[]): Promise<Progress> {
    for (const node of nodes) {
      if (!(await readNodeRecord(nodePaths(this.#home, target.planId, node.name)))) {
        return { state: 'failed', reason: `node ${node.name} has not been launched` };
      }
    }
    return { state: 'done' };
  }

  async sendCommand(target: DeployTarget, nodes: readonly NodeRef[], kind: CommandKind): Promise<CommandRef> {
    const commandId = `local-${kind}-${randomUUID()}`;
    const startedAt = new Date().toISOString();
    let progress: Progress;
    try {
      if (kind === 'install') await this.#install(target);
      else await this.#configure(target, nodes);
      progress = { state: 'done' };
    } catch (error) {
      progress = { state: 'failed', reason: error instanceof Error ? error.message : String(error) };
    }
    const outcome: CommandOutcome = { kind, commandId, startedAt, finishedAt: new Date().toISOString(), progress };
    const dir = commandsDir(this.#home, target.planId, target.component.id);
    await ensureDir(dir, 0o700);
    await writeFileAtomic(join(dir, `${commandId}.json`), `${JSON.stringify(outcome, null, 2)}\n`, 0o600);
    return { kind, commandIds: [commandId], nodeIds: nodes.map((node) => node.nodeId) };
  }

  async commandStatus(target: DeployTarget, command: CommandRef): Promise<Progress> {
    const [commandId, ...others] = command.commandIds;
    if (commandId === undefined || others.length > 0)
      throw new PermanentError(`a local command has one id, not ${command.commandIds.length} (${command.commandIds.join(', ')})`);
    const file = join(commandsDir(this.#home, target.planId, target.component.id), `${safeName('command id', commandId)}.json`);
    const text = await readTextIfExists(file);
    if (text === undefined) return { state: 'failed', reason: `command ${commandId} is unknown to this local cloud` };
    return (JSON.parse(text) as CommandOutcome).progress;
  }

  async verify(target: DeployTarget, nodes: readonly NodeRef[]): Promise<void> {
    const password = await this.readPassword(target);
    const { databaseName, username } = target.component.db;
    const bin = binDirOf(this.#postgresRoot, majorOf(target.component));
    for (const node of nodes) {
      const paths = nodePaths(this.#home, target.planId, node.name);
      const record = await readNodeRecord(paths);
      if (!record) throw new PermanentError(`node ${node.name} has not been launched`);
      // verify-full against the node's own certificate: TLS is on, and it is this server's.
      const connection = conninfo({
        host: '127.0.0.1',
        port: record.port,
        dbname: databaseName,
        user: username,
        sslmode: 'verify-full',
        sslrootcert: paths.caFile,
      });
      const result = await run(join(bin, 'psql'), ['-X', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT 1', '-d', connection], {
        binDir: bin,
        env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
      });
      if (result.code !== 0 || result.stdout.trim() !== '1') {
        throw new PermanentError(`cannot run SELECT 1 on ${node.name} over TLS as ${username}: ${describeFailure(result)}`);
      }
    }
  }

  async health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
    return Promise.all(
      nodes.map(async (node): Promise<NodeHealth> => {
        const base = { name: node.name, role: node.role };
        const paths = nodePaths(this.#home, target.planId, node.name);
        const record = await readNodeRecord(paths);
        if (!record) return { ...base, healthy: false, detail: 'the node has not been launched' };
        if (!(await isRunning(paths))) return { ...base, healthy: false, detail: 'server process is not running' };
        const { databaseName: database, username } = target.component.db;
        const answer = await readiness(this.#serverOf(record, paths), { database, username });
        if (answer === 0) return { ...base, healthy: true };
        if (answer === 1)
          return { ...base, healthy: false, detail: 'server is rejecting connections (starting up, shutting down or in crash recovery)' };
        return { ...base, healthy: false, detail: `not accepting connections on 127.0.0.1:${record.port}` };
      }),
    );
  }

  async destroy(target: DeployTarget): Promise<void> {
    const planDir = planInstancesDir(this.#home, target.planId);
    const componentId = safeName('component id', target.component.id);
    const nodeName = new RegExp(`^${componentId}-\\d+$`);
    // Every node the component ever had, not only the ones in today's plan.
    const names = (await readdir(planDir).catch(() => [])).filter((name) => nodeName.test(name));
    for (const name of names) {
      const paths = pathsOf(join(planDir, name));
      await withLock(paths.root, async () => {
        const record = await readNodeRecord(paths).catch(() => undefined);
        const major = record?.major ?? majorOf(target.component);
        await stopServer({ name, paths, port: record?.port ?? 0, bin: binDirOf(this.#postgresRoot, major) });
        await removeNodeDir(paths);
      });
    }
    if (this.#archive) await removeStanza(this.#archive, target.planId, componentId);
    await rm(commandsDir(this.#home, target.planId, componentId), { recursive: true, force: true });
    await rm(passwordFile(this.#home, target.planId, componentId), { force: true });
    await rm(replicationPasswordFile(this.#home, target.planId, componentId), { force: true });
    await removeIfEmpty(join(planDir, 'commands'));
    await removeIfEmpty(planDir);
    // The CA is the plan's: it goes with the plan's last server.
    if (!(await exists(planDir))) await rm(certificateAuthorityFile(this.#home, target.planId), { force: true });
    await removeIfEmpty(planSecretsDir(this.#home, target.planId));
  }

  // --- backups ------------------------------------------------------------------------------------

  async backup(target: DeployTarget, primary: NodeRef, location: BackupLocation): Promise<BackupResult> {
    return backupDatabase(await this.#databaseOf(target, primary), location);
  }

  async validateBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<ValidationResult> {
    return validateBackupObject(await this.#databaseOf(target, primary), location, recorded);
  }

  async restoreBackup(target: DeployTarget, primary: NodeRef, location: BackupLocation, recorded: BackupResult): Promise<void> {
    await restoreBackupObject(await this.#databaseOf(target, primary), location, recorded);
  }

  async deleteBackup(_target: DeployTarget, location: BackupLocation): Promise<void> {
    await deleteBackupObjects(location);
  }

  /** The application database on the component's running primary: backups, validations and restores all work there. */
  async #databaseOf(target: DeployTarget, primary: NodeRef): Promise<DatabaseRef> {
    const spec = target.component;
    const paths = nodePaths(this.#home, target.planId, primary.name);
    const record = await readNodeRecord(paths);
    if (!record) throw new PermanentError(`node ${primary.name} has not been launched`);
    if (record.role !== 'primary') throw new PermanentError(`node ${primary.name} is a replica; backups and restores run on the primary`);
    if (!(await isRunning(paths))) throw new PermanentError(`the server of ${primary.name} is not running`);
    return { server: this.#serverOf(record, paths), database: spec.db.databaseName, owner: spec.db.username };
  }

  // --- commands -----------------------------------------------------------------------------------

  async #install(target: DeployTarget): Promise<void> {
    // The packages are the machine's: "installing" is making sure the plan's major is there.
    const major = majorOf(target.component);
    const missing = await missingPrograms(binDirOf(this.#postgresRoot, major));
    if (missing.length > 0)
      throw new PermanentError(`PostgreSQL ${major} is not installed on this machine (missing ${missing.join(', ')}); install postgresql-${major}`);
  }

  async #configure(target: DeployTarget, wanted: readonly NodeRef[]): Promise<void> {
    const spec = target.component;
    // The local cloud resets CLOUDSEED_HOME to 0700 when it starts; a retried configure may come first.
    await ensureHomeReachable(this.#home);
    const nodes = await this.#nodesOf(target);
    const primary = nodes.find((node) => node.record.role === 'primary');
    if (!primary) throw new PermanentError(`component ${target.component.id} has no primary node`);
    const replicas = nodes.filter((node) => node !== primary);
    const selected = (node: LocalNode) => wanted.some((ref) => ref.name === node.record.name);
    const password = await this.readPassword(target);
    const authority = await this.#authorityOf(target);
    const replicationPassword =
      replicas.length > 0
        ? await readSecret(replicationPasswordFile(this.#home, target.planId, target.component.id), 'the replication password')
        : undefined;

    // Raising a hot-standby limit (max_connections, ...) must reach the standbys before the primary,
    // lowering it the primary first; new replicas are cloned from the reconfigured primary.
    const standbysFirst = (await this.#raisesStandbyLimits(spec, primary)) ? await filterAsync(replicas, (node) => isStandby(node.paths)) : [];
    for (const replica of standbysFirst.filter(selected)) await this.#configureNode(target, replica, primary, authority, replicationPassword);
    if (selected(primary)) {
      await this.#configureNode(target, primary, primary, authority, replicationPassword);
      await this.#ensureRoles(spec, primary.server, password, replicationPassword);
      const archive = this.#archiveOf(target, primary.paths);
      if (archive) await ensureStanza(archive);
    }
    for (const replica of replicas.filter((node) => selected(node) && !standbysFirst.includes(node))) {
      await this.#configureNode(target, replica, primary, authority, replicationPassword);
    }
  }

  async #configureNode(
    target: DeployTarget,
    node: LocalNode,
    primary: LocalNode,
    authority: KeyAndCertificate,
    replicationPassword: string | undefined,
  ): Promise<void> {
    const spec = target.component;
    const { paths, server, record } = node;
    await withLock(paths.root, async () => {
      await prepareNodeDirs(paths);
      // First: a new replica verifies its primary with the CA copy this writes.
      await ensureServerCertificate(paths, authority);
      const dataMajor = (await readTextIfExists(join(paths.data, 'PG_VERSION')))?.trim();
      if (dataMajor !== undefined && dataMajor !== String(record.major)) {
        throw new PermanentError(`${record.name} holds PostgreSQL ${dataMajor} data; changing the major version in place is not supported`);
      }
      if (record.role === 'primary') {
        if (!(await isInitialised(paths))) await initdb(server);
      } else if (!(await isInitialised(paths)) || !(await isStandby(paths))) {
        if (replicationPassword === undefined) throw new PermanentError(`${record.name} is a replica but the component has no replication password`);
        if (!(await isRunning(primary.paths)))
          throw new PermanentError(`${record.name} cannot be cloned: the primary ${primary.record.name} is not running`);
        await stopServer(server);
        await basebackup(server, primary.record.port, REPLICATION_USER, replicationPassword);
      } else {
        await trustPlanCa(paths, primary.paths);
      }
      await this.#writeConfigFiles(target, node, await this.#writeArchiveConfig(target, record, paths));
      await applyConfig(server);
      await writeNodeRecord(paths, { ...record, running: true, memoryGiB: spec.hardware.memoryGiB });
    });
  }

  /** postgresql.conf's include, pg_hba.conf and pg_ident.conf as the plan says. */
  async #writeConfigFiles(target: DeployTarget, node: LocalNode, archive: Archive | undefined): Promise<void> {
    const spec = target.component;
    const clustered = spec.db.topology.mode === 'cluster';
    await writeServerConfig(
      node.paths,
      renderPostgresqlConf(spec, layoutOf(node.record, node.paths, archive)),
      renderPgHba(spec, { extraCidrs: LOOPBACK_CIDRS, ...(clustered ? { replicationCidrs: ['127.0.0.1/32'] } : {}) }),
      renderPgIdent(spec),
    );
  }

  async #ensureRoles(spec: Component, primary: Server, password: string, replicationPassword: string | undefined): Promise<void> {
    const { databaseName, username } = spec.db;
    // Only SCRAM verifiers travel, and on standard input; the statement log is off for the session anyway.
    const statements = [
      "SET log_statement = 'none';",
      'SET log_min_duration_statement = -1;',
      'SET client_min_messages = warning;',
      `SELECT format('CREATE ROLE %I LOGIN', ${quoteLiteral(username)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(username)}) \\gexec`,
      `ALTER ROLE ${quoteIdentifier(username)} WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD ${quoteLiteral(await scramVerifier(password))};`,
      `SELECT format('CREATE DATABASE %I OWNER %I', ${quoteLiteral(databaseName)}, ${quoteLiteral(username)}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${quoteLiteral(databaseName)}) \\gexec`,
      `ALTER DATABASE ${quoteIdentifier(databaseName)} OWNER TO ${quoteIdentifier(username)};`,
    ];
    if (replicationPassword !== undefined) {
      statements.push(
        `SELECT format('CREATE ROLE %I REPLICATION LOGIN', ${quoteLiteral(REPLICATION_USER)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(REPLICATION_USER)}) \\gexec`,
        `ALTER ROLE ${quoteIdentifier(REPLICATION_USER)} WITH REPLICATION LOGIN PASSWORD ${quoteLiteral(await scramVerifier(replicationPassword))};`,
      );
    }
    await adminSql(primary, `${statements.join('\n')}\n`);
  }

  async #raisesStandbyLimits(spec: Component, primary: LocalNode): Promise<boolean> {
    if (!(await isRunning(primary.paths))) return false;
    const wanted: Record<string, string> = {
      ...tuneComponent(spec).settings,
      ...productionSettings(spec, layoutOf(primary.record, primary.paths, this.#archiveOf({ component: spec }, primary.paths))),
    };
    const names = HOT_STANDBY_LIMITS.map(quoteLiteral).join(', ');
    const current = await adminSql(primary.server, `SELECT name, setting FROM pg_settings WHERE name IN (${names});\n`);
    return current
      .split('\n')
      .map((line) => line.split('|'))
      .some(([name, setting]) => name !== undefined && wanted[name] !== undefined && Number(wanted[name]) > Number(setting));
  }

  // --- continuous archiving (archive.ts) --------------------------------------------------------

  async archiveBackup(target: DeployTarget, primary: NodeRef, request: { backupId: string; type: ArchiveBackupType }): Promise<ArchiveBackupResult> {
    const db = await this.#databaseOf(target, primary);
    return takeArchiveBackup(db, this.#requireArchive(target, db.server.paths), request);
  }

  async validateArchiveBackup(target: DeployTarget, primary: NodeRef, recorded: ArchiveBackupResult): Promise<ValidationResult> {
    const db = await this.#databaseOf(target, primary);
    const archive = this.#requireArchive(target, db.server.paths);
    return withLock(`ports:${this.#home}`, async () => {
      // Held while the scratch server runs: no new node takes its port meanwhile.
      const taken = new Set((await listNodes(this.#home)).map((node) => node.record.port));
      const [port] = await reserveLoopbackPorts(1, taken);
      if (port === undefined) throw new TransientError('no free loopback port for the scratch restore');
      return validateArchiveBackup(this.#home, db, archive, recorded, port);
    });
  }

  async recoveryWindow(target: DeployTarget, primary: NodeRef): Promise<RecoveryWindow | undefined> {
    const db = await this.#databaseOf(target, primary);
    return recoveryWindowOf(db.server, this.#requireArchive(target, db.server.paths));
  }

  async restoreToPoint(target: DeployTarget, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
    const nodes = await this.#nodesOf(target);
    const node = nodes.find((candidate) => candidate.record.name === primary.name);
    if (node?.record.role !== 'primary') throw new PermanentError(`node ${primary.name} is not the primary of ${target.component.id}`);
    const archive = this.#requireArchive(target, node.paths);
    // The replicas follow a history the restore abandons: they stop now and are cloned again after.
    for (const replica of nodes.filter((candidate) => candidate !== node)) {
      await withLock(replica.paths.root, () => stopServer(replica.server));
    }
    await withLock(node.paths.root, async () => {
      await stopServer(node.server);
      // Read before the restore replaces the directory: the history the target time is on.
      const history = await timelineHistoryOf(node.paths);
      await restoreDataDir(node.server, archive, recoveryTarget, history);
      // The restored directory holds the configuration of its time; the plan's current one applies.
      await this.#writeConfigFiles(target, node, archive);
      await startServer(node.server);
      await waitUntilWritable(node.server);
      await clearRecoverySettings(node.server);
      await writeNodeRecord(node.paths, { ...node.record, running: true });
    });
    // The new timeline's first segment in the repository, so that the window reaches past the restore.
    await checkArchiving(node.server, archive);
  }

  async rebuildReplicas(target: DeployTarget, primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
    const nodes = await this.#nodesOf(target);
    const primaryNode = nodes.find((candidate) => candidate.record.name === primary.name);
    if (primaryNode?.record.role !== 'primary') throw new PermanentError(`node ${primary.name} is not the primary of ${target.component.id}`);
    const authority = await this.#authorityOf(target);
    const replicationPassword = await readSecret(replicationPasswordFile(this.#home, target.planId, target.component.id), 'the replication password');
    for (const ref of replicas) {
      const replica = nodes.find((candidate) => candidate.record.name === ref.name && candidate.record.role === 'replica');
      if (!replica) throw new PermanentError(`node ${ref.name} is not a replica of ${target.component.id}`);
      await withLock(replica.paths.root, async () => {
        await stopServer(replica.server);
        // An empty data directory is cloned again from the primary by the configure below.
        await emptyPostgresDir(replica.paths.data);
      });
      await this.#configureNode(target, replica, primaryNode, authority, replicationPassword);
    }
  }

  /** The node's archiving, when the local cloud has a repository. */
  #archiveOf(target: Pick<DeployTarget, 'component'>, paths: NodePaths): Archive | undefined {
    return this.#archive ? { configFile: paths.pgbackrestConf, stanza: safeName('component id', target.component.id) } : undefined;
  }

  #requireArchive(target: DeployTarget, paths: NodePaths): Archive {
    const archive = this.#archiveOf(target, paths);
    if (!archive) throw new PermanentError('this local cloud has no archive repository (start it with npm start)');
    return archive;
  }

  async #writeArchiveConfig(target: DeployTarget, record: NodeRecord, paths: NodePaths): Promise<Archive | undefined> {
    if (!this.#archive) return undefined;
    return writeArchiveConfig(paths, {
      planId: target.planId,
      stanza: safeName('component id', target.component.id),
      port: record.port,
      retentionDays: target.component.db.backup.retentionDays,
      repository: this.#archive,
    });
  }

  // --- helpers ------------------------------------------------------------------------------------

  async #nodesOf(target: DeployTarget): Promise<LocalNode[]> {
    const nodes: LocalNode[] = [];
    for (const node of planNodes(target.component)) {
      const paths = nodePaths(this.#home, target.planId, node.name);
      const record = await readNodeRecord(paths);
      if (!record) throw new PermanentError(`node ${node.name} has not been launched`);
      nodes.push({ record, paths, server: this.#serverOf(record, paths) });
    }
    return nodes;
  }

  async #authorityOf(target: DeployTarget): Promise<KeyAndCertificate> {
    return readCertificateAuthority(certificateAuthorityFile(this.#home, target.planId), `the certificate authority of plan ${target.planId}`);
  }

  #serverOf(record: NodeRecord, paths: NodePaths): Server {
    return { name: record.name, paths, port: record.port, bin: binDirOf(this.#postgresRoot, record.major) };
  }
}

/**
 * CLOUDSEED_HOME stays unlistable to others, but the postgres user needs to pass through it (o+x)
 * to reach instances/; everything below that is owned by postgres or closed to it.
 */
export async function ensureHomeReachable(home: string): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const mode = (await stat(home)).mode & 0o7777;
  if ((mode & 0o001) === 0) await chmod(home, mode | 0o001);
  await ensureDir(instancesRoot(home), 0o711);
  const probe = await run('test', ['-x', instancesRoot(home)], { asPostgres: true });
  if (probe.code !== 0) {
    throw new PreflightRefused(
      `the postgres OS user cannot reach ${instancesRoot(home)}; every directory above CLOUDSEED_HOME must be searchable by others (chmod o+x)`,
    );
  }
}

/**
 * What this machine can give the plans' servers. A plan's memory is the size of the machine it was
 * tuned for (shared_buffers is a quarter of it), so the machine must have that much, less what the
 * system and the local cloud keep for themselves.
 */
export function machineMemoryGiB(): { readonly total: number; readonly kept: number; readonly usable: number } {
  const total = totalmem() / GiB;
  const kept = Math.max(1, total * 0.1);
  return { total, kept, usable: total - kept };
}

/**
 * The memory promised to the servers launched on this machine (running, brought back by a restart
 * of the local cloud, or launched by a deployment still configuring them), other than the target's
 * own nodes, which a redeploy replaces. A node recorded before nodes kept their memory counts as
 * nothing: its plan's next deploy records it.
 */
export async function committedMemoryGiB(
  home: string,
  except?: Pick<DeployTarget, 'planId' | 'component'>,
): Promise<{ readonly memoryGiB: number; readonly nodes: number }> {
  const others = (await listNodes(home)).filter(
    ({ record }) => !(except && record.planId === except.planId && record.componentId === except.component.id),
  );
  return { memoryGiB: others.reduce((sum, { record }) => sum + (record.memoryGiB ?? 0), 0), nodes: others.length };
}

/** The server's paths and port: the only part of postgresql.conf that differs from an EC2 instance's. */
export function layoutOf(record: NodeRecord, paths: NodePaths, archive?: Archive): ServerLayout {
  return {
    listenAddresses: '127.0.0.1',
    port: record.port,
    sslCertFile: paths.certFile,
    sslKeyFile: paths.keyFile,
    logDirectory: paths.logDir,
    unixSocketDirectory: paths.socketDir,
    ...(archive ? { archive } : {}),
  };
}

/**
 * Replicas cloned before servers had CA-signed certificates verify their primary with the
 * primary's old self-signed certificate (pg_basebackup -R wrote that path into
 * postgresql.auto.conf); they are pointed at their own copy of the plan's CA instead, which the
 * reload that follows applies (primary_conninfo is reloadable).
 */
async function trustPlanCa(paths: NodePaths, primaryPaths: NodePaths): Promise<void> {
  const autoConf = join(paths.data, 'postgresql.auto.conf');
  const text = await readTextIfExists(autoConf);
  if (text === undefined || !text.includes(primaryPaths.certFile)) return;
  await writeFileAtomic(autoConf, text.replaceAll(primaryPaths.certFile, paths.caFile), 0o600, postgresAccount());
}

/** Reload when the running server can take the new files, restart when a setting needs it, refuse broken files. */
async function applyConfig(server: Server): Promise<void> {
  if (!(await isRunning(server.paths))) {
    await startServer(server);
    return;
  }
  const check = await checkConfig(server);
  if (check.errors.length > 0) {
    throw new PermanentError(`the new configuration of ${server.name} has errors, so the server keeps its previous one: ${check.errors.join('; ')}`);
  }
  if (check.needRestart.length > 0) await restartServer(server);
  else await reloadServer(server);
}

const majorOf = (component: Component): number => Number(component.db.version);
const isClustered = (component: Component): boolean => planNodes(component).length > 1;
const nodeIdOf = (planId: string, nodeName: string): string => `local-${planId}-${nodeName}`;
const gib = (value: number): string => String(Math.round(value * 10) / 10);

async function filterAsync<T>(items: readonly T[], predicate: (item: T) => Promise<boolean>): Promise<T[]> {
  const keep = await Promise.all(items.map(predicate));
  return items.filter((_, index) => keep[index]);
}

async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
}
