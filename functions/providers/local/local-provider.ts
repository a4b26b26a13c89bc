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
import {
  clusterWideSettings,
  dcsConfig,
  HA_TIMING,
  isServing,
  MAXIMUM_LAG_ON_FAILOVER,
  memberRestartChecks,
  renderPatroniConfig,
  RESTART_SETTINGS,
  REWIND_GRANTS,
  REWIND_USER,
} from '@cloudseed/shared/postgres/patroni';
import type { PlannedNode } from '@cloudseed/shared/postgres/nodes';
import type { PostgresComponent, ServerLayout } from '@cloudseed/shared';
import { PermanentError, TransientError } from '../errors.ts';
import { membersHealth } from '../patroni-health.ts';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type {
  ArchiveBackupResult,
  RecoveryTarget,
  RecoveryWindow,
  BackupLocation,
  BackupResult,
  ClusterEndpoint,
  CommandKind,
  CommandRef,
  DeployTarget,
  NetworkRef,
  NodeHealth,
  NodeRef,
  Progress,
  Provider,
  Switchover,
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
import {
  clusterState,
  ensureDcs,
  forgetCluster,
  listDcsDirs,
  patchClusterConfig,
  PATRONI_REST_USER,
  patroniCall,
  patroniDaemon,
  patroniRunning,
  readDcs,
  removeDcs,
  scopeOf,
  seedClusterConfig,
  startPatroni,
  stopDcs,
  stopPatroni,
  waitForCluster,
  waitForFailsafe,
  waitForPrimary,
} from './ha.ts';
import type { DcsRecord } from './ha.ts';
import { backupDatabase, deleteBackupObjects, restoreBackupObject, validateBackupObject } from './backup.ts';
import type { DatabaseRef } from './backup.ts';
import type { KeyAndCertificate } from '../certificates.ts';
import { describeFailure, run } from './exec.ts';
import { ensureDir, exists, readTextIfExists, writeFileAtomic } from './files.ts';
import { withLock } from './lock.ts';
import { listNodes, readNodeRecord, writeNodeRecord } from './nodes.ts';
import type { NodeRecord } from './nodes.ts';
import {
  certificateAuthorityFile,
  commandsDir,
  dcsDir,
  instancesRoot,
  nodePaths,
  passwordFile,
  patroniPasswordFile,
  pathsOf,
  planInstancesDir,
  planSecretsDir,
  replicationPasswordFile,
  rewindPasswordFile,
  safeName,
  secretsRoot,
} from './paths.ts';
import type { NodePaths } from './paths.ts';
import { reserveLoopbackPorts } from './ports.ts';
import { accessSql } from '@cloudseed/shared/postgres/access';
import { ensureCertificateAuthority, ensureSecret, readCertificateAuthority, readSecret, scramVerifier } from './secrets.ts';
import {
  DEFAULT_POSTGRES_ROOT,
  adminSql,
  binDirOf,
  emptyPostgresDir,
  checkConfig,
  conninfo,
  ensureServerCertificate,
  initdb,
  installedMajors,
  isInitialised,
  isRunning,
  missingPrograms,
  prepareNodeDirs,
  readiness,
  reloadServer,
  removeNodeDir,
  restartServer,
  startServer,
  stopServer,
  writeServerConfig,
  writeMemberConfig,
  pointAtMemberConfig,
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
    if (isClustered(target.component)) {
      for (const file of [replicationPasswordFile, rewindPasswordFile, patroniPasswordFile]) {
        await ensureSecret(file(this.#home, target.planId, target.component.id));
      }
    }
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
      const taken = await takenPorts(this.#home);
      const clustered = isClustered(target.component);
      const records: NodeRecord[] = [];
      const unlaunched: PlannedNode[] = [];
      const planned = planNodes(target.component);
      for (const node of planned) {
        const record = await readNodeRecord(nodePaths(this.#home, target.planId, node.name));
        if (!record) unlaunched.push(node);
        else if (clustered && record.restPort === undefined) {
          // A replica of a cluster launched before Patroni managed clusters: it gets its REST API port now.
          const [restPort] = await reserveLoopbackPorts(1, taken);
          taken.add(restPort ?? 0);
          const withRest = { ...record, restPort: restPort ?? 0 };
          await writeNodeRecord(nodePaths(this.#home, target.planId, node.name), withRest);
          records.push(withRest);
        } else records.push(record);
      }
      const ports = await reserveLoopbackPorts(unlaunched.length * (clustered ? 2 : 1), taken);
      for (const [index, node] of unlaunched.entries()) {
        const record: NodeRecord = {
          planId: target.planId,
          componentId: target.component.id,
          name: node.name,
          role: node.role,
          major: majorOf(target.component),
          port: ports[clustered ? index * 2 : index] ?? 0,
          running: false,
          memoryGiB: target.component.hardware.memoryGiB,
          ...(clustered ? { restPort: ports[index * 2 + 1] ?? 0 } : {}),
        };
        const paths = nodePaths(this.#home, target.planId, node.name);
        await prepareNodeDirs(paths);
        await writeNodeRecord(paths, record);
        records.push(record);
      }
      if (clustered) {
        await ensureDcs(dcsDir(this.#home, target.planId, target.component.id), scopeOf(target.planId, target.component.id), async (count) => {
          const reserved = await reserveLoopbackPorts(count, taken);
          for (const port of reserved) taken.add(port);
          return reserved;
        });
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

  /** Locally there is no load balancer: the multi-host URI with target_session_attrs=read-write is the cluster's endpoint. */
  ensureEndpoint(): Promise<ClusterEndpoint | undefined> {
    return Promise.resolve(undefined);
  }

  async health(target: DeployTarget, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
    if (isClustered(target.component)) return this.#clusterHealth(target, nodes);
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

  /**
   * Stops the nodes' servers (a cluster member's through its Patroni) and records them as not
   * running, so that the local cloud does not start them again when it restarts; a cluster's etcd
   * stops with its last member. Before a cluster's first member stops, each node's record takes the
   * role Patroni gives it now: the start brings the leader back first (configure and startExisting).
   */
  async stopNodes(target: DeployTarget, refs: readonly NodeRef[]): Promise<Progress> {
    const all = await this.#nodesOf(target);
    const clustered = isClustered(target.component);
    if (clustered) await this.#recordLeader(all);
    for (const ref of refs) {
      const node = all.find((candidate) => candidate.record.name === ref.name);
      if (!node) return { state: 'failed', reason: `node ${ref.name} is not a node of ${target.component.id}` };
      await withLock(node.paths.root, async () => {
        const record = (await readNodeRecord(node.paths)) ?? node.record;
        // Not running first: the supervisor leaves a node alone once its record says so.
        await writeNodeRecord(node.paths, { ...record, running: false });
        await stopPatroni(node.paths);
        await stopServer(node.server);
      });
    }
    if (clustered) {
      const records = await Promise.all(all.map((node) => readNodeRecord(node.paths)));
      if (records.every((record) => record?.running === false)) await stopDcs(dcsDir(this.#home, target.planId, target.component.id));
    }
    return { state: 'done' };
  }

  /** Writes the leader Patroni names now into the members' records as the primary (the others as replicas). */
  async #recordLeader(nodes: readonly LocalNode[]): Promise<void> {
    const leader = (await clusterState(restPortsOf(nodes)))?.leader?.name;
    if (!leader || !nodes.some((node) => node.record.name === leader)) return;
    for (const node of nodes) {
      await withLock(node.paths.root, async () => {
        const record = await readNodeRecord(node.paths);
        const role = record?.name === leader ? 'primary' : 'replica';
        if (record && record.role !== role) await writeNodeRecord(node.paths, { ...record, role });
      });
    }
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
        await stopPatroni(paths);
        await stopServer({ name, paths, port: record?.port ?? 0, bin: binDirOf(this.#postgresRoot, major) });
        await removeNodeDir(paths);
      });
    }
    const dcs = dcsDir(this.#home, target.planId, componentId);
    await removeDcs(dcs);
    await rm(dcs, { recursive: true, force: true });
    if (this.#archive) await removeStanza(this.#archive, target.planId, componentId);
    await rm(commandsDir(this.#home, target.planId, componentId), { recursive: true, force: true });
    await rm(passwordFile(this.#home, target.planId, componentId), { force: true });
    for (const file of [replicationPasswordFile, rewindPasswordFile, patroniPasswordFile]) {
      await rm(file(this.#home, target.planId, componentId), { force: true });
    }
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
    const database = { database: spec.db.databaseName, owner: spec.db.username };
    if (isClustered(spec)) {
      // Whichever member leads now: the deployment's primary may have failed over since.
      const leader = await this.#leaderOf(target, await this.#nodesOf(target));
      return { server: leader.server, ...database };
    }
    const paths = nodePaths(this.#home, target.planId, primary.name);
    const record = await readNodeRecord(paths);
    if (!record) throw new PermanentError(`node ${primary.name} has not been launched`);
    if (record.role !== 'primary') throw new PermanentError(`node ${primary.name} is a replica; backups and restores run on the primary`);
    if (!(await isRunning(paths))) throw new PermanentError(`the server of ${primary.name} is not running`);
    return { server: this.#serverOf(record, paths), ...database };
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
    if (isClustered(spec)) {
      await this.#configureCluster(target, nodes, wanted);
      return;
    }
    // A single server: a cluster's nodes are Patroni's (above).
    const [server] = nodes;
    if (!server) throw new PermanentError(`component ${target.component.id} has no node`);
    await this.#configureServer(target, server, await this.#authorityOf(target));
    await this.#ensureRoles(spec, server.server, await this.readPassword(target), undefined);
    const archive = this.#archiveOf(target, server.paths);
    if (archive) await ensureStanza(archive);
  }

  async #configureServer(target: DeployTarget, node: LocalNode, authority: KeyAndCertificate): Promise<void> {
    const spec = target.component;
    const { paths, server, record } = node;
    await withLock(paths.root, async () => {
      await prepareNodeDirs(paths);
      await ensureServerCertificate(paths, authority);
      const dataMajor = (await readTextIfExists(join(paths.data, 'PG_VERSION')))?.trim();
      if (dataMajor !== undefined && dataMajor !== String(record.major)) {
        throw new PermanentError(`${record.name} holds PostgreSQL ${dataMajor} data; changing the major version in place is not supported`);
      }
      if (!(await isInitialised(paths))) await initdb(server);
      await this.#writeConfigFiles(target, node, await this.#writeArchiveConfig(target, record, paths));
      await applyConfig(server);
      await writeNodeRecord(paths, { ...record, running: true, memoryGiB: spec.hardware.memoryGiB });
    });
  }

  /** postgresql.conf's include, pg_hba.conf and pg_ident.conf as the plan says. */
  async #writeConfigFiles(target: DeployTarget, node: LocalNode, archive: Archive | undefined): Promise<void> {
    const spec = target.component;
    await writeServerConfig(
      node.paths,
      renderPostgresqlConf(spec, layoutOf(node.record, node.paths, archive)),
      renderPgHba(spec, { extraCidrs: LOOPBACK_CIDRS }),
      renderPgIdent(spec),
    );
  }

  async #ensureRoles(
    spec: PostgresComponent,
    primary: Server,
    password: string,
    replicationPassword: string | undefined,
    rewindPassword?: string,
  ): Promise<void> {
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
    if (rewindPassword !== undefined) {
      statements.push(
        `SELECT format('CREATE ROLE %I LOGIN', ${quoteLiteral(REWIND_USER)}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${quoteLiteral(REWIND_USER)}) \\gexec`,
        `ALTER ROLE ${quoteIdentifier(REWIND_USER)} WITH LOGIN NOSUPERUSER NOREPLICATION PASSWORD ${quoteLiteral(await scramVerifier(rewindPassword))};`,
        ...REWIND_GRANTS.map((fn) => `GRANT EXECUTE ON FUNCTION ${fn} TO ${quoteIdentifier(REWIND_USER)};`),
      );
    }
    // The plan's other databases and roles (postgres/access.ts).
    statements.push(accessSql(spec));
    await adminSql(primary, `${statements.join('\n')}\n`);
  }

  async #raisesStandbyLimits(spec: PostgresComponent, primary: LocalNode): Promise<boolean> {
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

  // --- clusters: Patroni and etcd (ha.ts) -----------------------------------------------------------

  /**
   * A cluster's configure: the leader (or, for a new cluster, node 0) is configured and adopted by
   * its Patroni first, the roles follow on it, then each replica is cloned from it when new and
   * handed to its Patroni. Settings that need a restart are applied member by member.
   */
  async #configureCluster(target: DeployTarget, nodes: LocalNode[], wanted: readonly NodeRef[]): Promise<void> {
    const spec = target.component;
    const dcs = await this.#dcsOf(target);
    const secrets = await this.#clusterSecrets(target);
    const authority = await this.#authorityOf(target);
    await this.#removeExtraMembers(target, nodes, secrets);
    const restPorts = restPortsOf(nodes);
    const before = await clusterState(restPorts);
    const leader = nodes.find((node) => node.record.name === before?.leader?.name) ?? nodes.find((node) => node.record.role === 'primary');
    if (!leader) throw new PermanentError(`component ${spec.id} has no primary node`);
    const raising = await this.#raisesStandbyLimits(spec, leader);
    const archive = this.#archiveOf(target, leader.paths);
    const settings = dcsConfig(spec, layoutOf(leader.record, leader.paths, archive));

    await this.#configureMember(target, leader, leader, dcs, authority, secrets, before === undefined ? settings : undefined);
    await waitForPrimary(leader.record.restPort ?? 0, leader.record.name, 90_000);
    // Patroni names the leader as it starts the promotion; writes work once it is done.
    await waitUntilWritable(leader.server);
    await this.#ensureRoles(spec, leader.server, secrets.password, secrets.replication, secrets.rewind);
    if (archive) await ensureStanza(archive);
    // Settings every member shares live in etcd: the plan's current ones replace them.
    if (before !== undefined) await patchClusterConfig(leader.record.restPort ?? 0, secrets.restApi, settings);

    const selected = nodes.filter((node) => node !== leader && wanted.some((ref) => ref.name === node.record.name));
    await Promise.all(selected.map((replica) => this.#configureMember(target, replica, leader, dcs, authority, secrets)));
    await waitForCluster(
      restPorts,
      (state) =>
        state.leader?.name === leader.record.name &&
        nodes.every((node) => state.members.some((member) => member.name === node.record.name && isServing(member.state))),
      120_000,
      `every member of ${spec.id} serving`,
    );
    await waitForFailsafe(
      leader.record.restPort ?? 0,
      nodes.map((node) => node.record.name),
      30_000,
    );
    await waitForStreaming(
      leader.server,
      nodes.filter((node) => node !== leader).map((node) => node.record.name),
      60_000,
    );
    // Patroni reloads a member in its own time: every member reads the files written above now.
    await Promise.all(nodes.map((node) => reloadConfig(node.server)));
    await this.#restartStale(
      nodes,
      leader,
      clusterWideSettings(spec, layoutOf(leader.record, leader.paths, archive)),
      memberRestartChecks(spec),
      raising,
      secrets,
    );
  }

  /**
   * A plan with fewer replicas than run: the members beyond its count are removed now (Patroni
   * stopped, which takes the member out of etcd; the leader drops its slot), the leader first
   * handing over to node 0 when it is one of them.
   */
  async #removeExtraMembers(target: DeployTarget, nodes: LocalNode[], secrets: ClusterSecrets): Promise<void> {
    const planDir = planInstancesDir(this.#home, target.planId);
    const nodeName = new RegExp(`^${safeName('component id', target.component.id)}-\\d+$`);
    const kept = new Set(nodes.map((node) => node.record.name));
    const extra: LocalNode[] = [];
    for (const name of (await readdir(planDir).catch(() => [])).filter((entry) => nodeName.test(entry) && !kept.has(entry))) {
      const paths = pathsOf(join(planDir, name));
      const record = await readNodeRecord(paths).catch(() => undefined);
      if (record) extra.push({ record, paths, server: this.#serverOf(record, paths) });
    }
    if (extra.length === 0) return;
    const state = await clusterState(restPortsOf([...nodes, ...extra]));
    const leaving = extra.find((node) => node.record.name === state?.leader?.name);
    const [first] = nodes;
    if (leaving && first) {
      const answer = await patroniCall(leaving.record.restPort ?? 0, 'POST', '/switchover', secrets.restApi, {
        leader: leaving.record.name,
        candidate: first.record.name,
      });
      if (answer.status !== 200)
        throw new TransientError(`${leaving.record.name} leads and is to be removed, but did not hand over: ${answer.text.trim()}`);
      await waitForPrimary(first.record.restPort ?? 0, first.record.name, 60_000);
    }
    for (const node of extra) {
      await withLock(node.paths.root, async () => {
        await stopPatroni(node.paths);
        await stopServer(node.server);
        await removeNodeDir(node.paths);
      });
    }
    // A stopped member's key leaves etcd with its lease, which may outlive it by up to the TTL: the
    // deploy is done once the cluster no longer counts the removed members.
    const removed = new Set(extra.map((node) => node.record.name));
    const deadline = Date.now() + (HA_TIMING.ttl + 2 * HA_TIMING.loopWait) * 1000;
    for (;;) {
      const after = await clusterState(restPortsOf(nodes));
      const still = after?.members.filter((member) => removed.has(member.name)).map((member) => member.name) ?? [...removed];
      if (still.length === 0) return;
      if (Date.now() > deadline)
        throw new TransientError(`Patroni still counts ${still.join(', ')} as members of the cluster after they were stopped`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /**
   * Restarts, through Patroni, the members whose server runs with other settings than the plan's: a
   * cluster-wide one from etcd, or one of their own files that needs a restart (`members`: name=value
   * as pg_settings shows it, memberRestartChecks). Patroni takes
   * new etcd settings in its next loop: a member is given that long to say it wants a restart, and
   * is checked again after its restart until it runs with the plan's settings. Raised hot-standby
   * limits reach the replicas before the leader, lowered ones the leader first.
   */
  async #restartStale(
    nodes: LocalNode[],
    leader: LocalNode,
    wanted: Record<string, string>,
    members: readonly string[],
    raising: boolean,
    secrets: ClusterSecrets,
  ): Promise<void> {
    const names = RESTART_SETTINGS.filter((name) => wanted[name] !== undefined);
    const own = members.map((check) => check.split('=') as [string, string]);
    const ownRows =
      own.length === 0
        ? ''
        : ` UNION ALL SELECT 'member:' || name || '=' || setting FROM pg_settings WHERE name IN (${own.map(([name]) => quoteLiteral(name)).join(', ')})`;
    const stale = async (node: LocalNode): Promise<boolean> => {
      const rows = await adminSql(
        node.server,
        `SELECT name || '=' || current_setting(name) FROM pg_settings WHERE name IN (${names.map(quoteLiteral).join(', ')}) UNION ALL SELECT 'pending' FROM pg_settings WHERE pending_restart${ownRows};\n`,
      );
      const current = new Map(
        rows
          .split('\n')
          .filter(Boolean)
          .map((row) => row.split('=') as [string, string]),
      );
      return (
        current.has('pending') ||
        names.some((name) => current.get(name) !== wanted[name]) ||
        own.some(([name, value]) => current.get(`member:${name}`) !== value)
      );
    };
    const deadline = Date.now() + 90_000;
    for (let round = 0; ; round++) {
      const restart = await filterAsync(nodes, stale);
      if (restart.length === 0) return;
      if (Date.now() > deadline)
        throw new TransientError(`${restart.map((node) => node.record.name).join(', ')} still run with settings the plan changed`);
      // Patroni's next loop: it reads the new settings from etcd before it is asked to restart.
      await new Promise((resolve) => setTimeout(resolve, round === 0 ? HA_TIMING.loopWait * 1000 : 1000));
      const order = raising ? [...restart.filter((node) => node !== leader), ...restart.filter((node) => node === leader)] : [...restart].reverse();
      for (const node of order) {
        const restarted = await patroniCall(node.record.restPort ?? 0, 'POST', '/restart', secrets.restApi, {});
        if (restarted.status !== 200) throw new TransientError(`Patroni could not restart ${node.record.name}: ${restarted.text}`);
      }
    }
  }

  /**
   * One member: files, then a new leader's first server (initdb, started once so that its control
   * file holds the plan's limits, roles made), then Patroni started (which clones a new replica from
   * the leader) or reloaded. `seed`: the cluster's settings, written into etcd before a cluster's first
   * Patroni starts.
   */
  async #configureMember(
    target: DeployTarget,
    node: LocalNode,
    leader: LocalNode,
    dcs: DcsRecord,
    authority: KeyAndCertificate,
    secrets: ClusterSecrets,
    seed?: unknown,
  ): Promise<void> {
    const spec = target.component;
    const { paths, server, record } = node;
    await withLock(paths.root, async () => {
      await prepareNodeDirs(paths);
      await ensureServerCertificate(paths, authority);
      const dataMajor = (await readTextIfExists(join(paths.data, 'PG_VERSION')))?.trim();
      if (dataMajor !== undefined && dataMajor !== String(record.major)) {
        throw new PermanentError(`${record.name} holds PostgreSQL ${dataMajor} data; changing the major version in place is not supported`);
      }
      const fresh = !(await isInitialised(paths));
      if (fresh) {
        await stopPatroni(paths);
        // A new replica's Patroni clones the leader itself (pg_basebackup): a clone made behind its
        // back looks to it like a primary that crashed, and its crash recovery would fork the clone.
        if (node === leader) await initdb(server);
        else await emptyPostgresDir(paths.data);
      }
      const archive = await this.#writeArchiveConfig(target, record, paths);
      const layout = layoutOf(record, paths, archive);
      await writeMemberConfig(
        paths,
        renderPostgresqlConf(spec, layout),
        renderPgHba(spec, { extraCidrs: LOOPBACK_CIDRS, replicationCidrs: ['127.0.0.1/32'], rewindCidrs: ['127.0.0.1/32'] }),
        renderPgIdent(spec),
        renderPatroniConfig(spec, {
          name: record.name,
          scope: dcs.scope,
          postgres: { host: '127.0.0.1', port: record.port },
          restApi: { host: '127.0.0.1', port: record.restPort ?? 0 },
          etcd: dcs.members.map((member) => member.client),
          dataDir: paths.data,
          binDir: server.bin,
          configFile: join(paths.configDir, 'postgresql.conf'),
          hbaFile: join(paths.configDir, 'pg_hba.conf'),
          identFile: join(paths.configDir, 'pg_ident.conf'),
          pgpassFile: join(paths.configDir, 'pgpass'),
          caFile: paths.caFile,
          layout,
          watchdog: 'off',
          restApiUser: secrets.restApi,
          replicationPassword: secrets.replication,
          rewindPassword: secrets.rewind,
        }),
      );
      if (fresh && node === leader) {
        // Started once as a plain primary: its control file takes the plan's max_connections and
        // the other limits (Patroni would otherwise keep initdb's larger ones), and the roles the
        // replicas log in with exist before any replica tries.
        await pointAtMemberConfig(paths);
        await startServer(server);
        await this.#ensureRoles(spec, server, secrets.password, secrets.replication, secrets.rewind);
        await stopServer(server);
      }
      if (seed !== undefined) await seedClusterConfig(dcs, seed);
      if (await patroniRunning(paths)) {
        const reloaded = await patroniCall(record.restPort ?? 0, 'POST', '/reload', secrets.restApi);
        if (reloaded.status >= 300) throw new TransientError(`Patroni of ${record.name} did not reload: ${reloaded.text}`);
      } else {
        // A server pg_ctl started (a cluster from before Patroni, or a restore) is handed over stopped.
        await stopServer(server);
        await startPatroni(patroniDaemon(paths, record.name, server.bin), paths);
      }
      await writeNodeRecord(paths, { ...record, running: true, memoryGiB: spec.hardware.memoryGiB });
    });
  }

  async switchover(target: DeployTarget, candidate?: string): Promise<Switchover> {
    if (!isClustered(target.component)) throw new PermanentError(`${target.component.id} is a single server: it has no replica to hand over to`);
    const nodes = await this.#nodesOf(target);
    const state = await clusterState(restPortsOf(nodes));
    const leader = nodes.find((node) => node.record.name === state?.leader?.name);
    if (!state || !leader) throw new PermanentError(`${target.component.id} has no leader now, so there is nothing to hand over`);
    const eligible = (name: string) =>
      state.members.some(
        (member) => member.name === name && member.role !== 'leader' && isServing(member.state) && (member.lagBytes ?? 0) <= MAXIMUM_LAG_ON_FAILOVER,
      );
    if (candidate !== undefined && !nodes.some((node) => node.record.name === candidate))
      throw new PermanentError(
        `${candidate} is not a node of ${target.component.id} (its nodes: ${nodes.map((node) => node.record.name).join(', ')})`,
      );
    if (candidate === leader.record.name) throw new PermanentError(`${candidate} leads ${target.component.id} already`);
    if (candidate !== undefined && !eligible(candidate)) throw new PermanentError(`${candidate} is not a healthy replica in step with the leader`);
    // Without a candidate, the replica furthest ahead (least lag) takes over.
    const chosen =
      candidate ??
      [...state.members]
        .filter((member) => eligible(member.name))
        .sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
        .at(0)?.name;
    if (chosen === undefined) throw new PermanentError(`${target.component.id} has no healthy replica in step with the leader to hand over to`);
    const secrets = await this.#clusterSecrets(target);
    const answer = await patroniCall(leader.record.restPort ?? 0, 'POST', '/switchover', secrets.restApi, {
      leader: leader.record.name,
      candidate: chosen,
    });
    if (answer.status !== 200) throw new PermanentError(`Patroni did not switch over: ${answer.text.trim()}`);
    const next = nodes.find((node) => node.record.name === chosen);
    if (next) {
      await waitForPrimary(next.record.restPort ?? 0, chosen, 60_000);
      await waitUntilWritable(next.server);
    }
    return { from: leader.record.name, to: chosen };
  }

  async #clusterHealth(target: DeployTarget, refs: readonly NodeRef[]): Promise<NodeHealth[]> {
    const nodes = await this.#nodesOf(target);
    return membersHealth(await clusterState(restPortsOf(nodes)), refs);
  }

  /** The cluster's node that serves writes now (Patroni's leader), which may not be node 0 after a failover. */
  async #leaderOf(target: DeployTarget, nodes: LocalNode[]): Promise<LocalNode> {
    const state = await clusterState(restPortsOf(nodes));
    const leader = nodes.find((node) => node.record.name === state?.leader?.name);
    if (!leader) throw new TransientError(`${target.component.id} has no leader now${state ? '' : ' (no Patroni of the cluster answers)'}`);
    return leader;
  }

  async #dcsOf(target: DeployTarget): Promise<DcsRecord> {
    const record = await readDcs(dcsDir(this.#home, target.planId, target.component.id));
    if (!record)
      throw new PermanentError(`the cluster ${target.component.id} has no etcd (its nodes were launched before clusters had one; deploy again)`);
    return record;
  }

  async #clusterSecrets(target: DeployTarget): Promise<ClusterSecrets> {
    const read = (file: (home: string, planId: string, componentId: string) => string, what: string) =>
      readSecret(file(this.#home, target.planId, target.component.id), what);
    return {
      password: await this.readPassword(target),
      replication: await read(replicationPasswordFile, 'the replication password'),
      rewind: await read(rewindPasswordFile, 'the rewind password'),
      restApi: { username: PATRONI_REST_USER, password: await read(patroniPasswordFile, "the password of Patroni's REST API") },
    };
  }

  /** Stops every member's Patroni (replicas first) and forgets the cluster in etcd: a restore starts it again from one data directory. */
  async #dissolveCluster(target: DeployTarget, nodes: LocalNode[], leader: LocalNode): Promise<void> {
    for (const node of [...nodes.filter((candidate) => candidate !== leader), leader]) {
      await withLock(node.paths.root, async () => {
        await stopPatroni(node.paths);
        await stopServer(node.server);
      });
    }
    await forgetCluster(await this.#dcsOf(target));
  }

  /** Hands the restored leader back to its Patroni (which adopts it as the cluster's new history) and waits for it to lead. */
  async #reformCluster(target: DeployTarget, nodes: LocalNode[], leader: LocalNode): Promise<void> {
    await withLock(leader.paths.root, async () => {
      await stopServer(leader.server);
      await startPatroni(patroniDaemon(leader.paths, leader.record.name, leader.server.bin), leader.paths);
    });
    await waitForPrimary(leader.record.restPort ?? 0, leader.record.name, 90_000);
    // Patroni names the leader as it starts the promotion; writes work once it is done.
    await waitUntilWritable(leader.server);
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
      const [port] = await reserveLoopbackPorts(1, await takenPorts(this.#home));
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
    const clustered = isClustered(target.component);
    const node = clustered ? await this.#leaderOf(target, nodes) : nodes.find((candidate) => candidate.record.name === primary.name);
    if (node === undefined || (!clustered && node.record.role !== 'primary'))
      throw new PermanentError(`node ${primary.name} is not the primary of ${target.component.id}`);
    const archive = this.#requireArchive(target, node.paths);
    // The replicas follow a history the restore abandons: they stop now and are cloned again after.
    if (clustered) await this.#dissolveCluster(target, nodes, node);
    for (const replica of nodes.filter((candidate) => candidate !== node)) {
      await withLock(replica.paths.root, () => stopServer(replica.server));
    }
    await withLock(node.paths.root, async () => {
      await stopServer(node.server);
      // Read before the restore replaces the directory: the history the target time is on.
      const history = await timelineHistoryOf(node.paths);
      await restoreDataDir(node.server, archive, recoveryTarget, history);
      // The restored directory holds the configuration of its time; the plan's current one applies.
      // A member's own files are outside the data directory; the restored postgresql.conf may name another member's.
      if (clustered) await pointAtMemberConfig(node.paths);
      else await this.#writeConfigFiles(target, node, archive);
      await startServer(node.server);
      await waitUntilWritable(node.server);
      await clearRecoverySettings(node.server);
      await writeNodeRecord(node.paths, { ...node.record, running: true });
    });
    if (clustered) await this.#reformCluster(target, nodes, node);
    // The new timeline's first segment in the repository, so that the window reaches past the restore.
    await checkArchiving((clustered ? await this.#leaderOf(target, nodes) : node).server, archive);
  }

  async rebuildReplicas(target: DeployTarget, _primary: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
    // Only a cluster has replicas: its members other than the leader, whatever role the deployment remembers.
    if (!isClustered(target.component) || replicas.length === 0) return;
    const nodes = await this.#nodesOf(target);
    const leader = await this.#leaderOf(target, nodes);
    const authority = await this.#authorityOf(target);
    const secrets = await this.#clusterSecrets(target);
    const dcs = await this.#dcsOf(target);
    const rebuilt = nodes.filter((node) => node !== leader && replicas.some((ref) => ref.name === node.record.name));
    for (const replica of rebuilt) {
      await withLock(replica.paths.root, async () => {
        await stopPatroni(replica.paths);
        await stopServer(replica.server);
        // An empty data directory: its Patroni clones the leader again when the configure below starts it.
        await emptyPostgresDir(replica.paths.data);
      });
    }
    await Promise.all(rebuilt.map((replica) => this.#configureMember(target, replica, leader, dcs, authority, secrets)));
    await waitForCluster(
      restPortsOf(nodes),
      (state) => nodes.every((node) => state.members.some((member) => member.name === node.record.name && isServing(member.state))),
      120_000,
      `every member of ${target.component.id} serving after the restore`,
    );
    await waitForStreaming(
      leader.server,
      rebuilt.map((node) => node.record.name),
      60_000,
    );
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

const majorOf = (component: PostgresComponent): number => Number(component.db.version);
const isClustered = (component: PostgresComponent): boolean => planNodes(component).length > 1;
const restPortsOf = (nodes: readonly LocalNode[]): number[] =>
  nodes.flatMap((node) => (node.record.restPort === undefined ? [] : [node.record.restPort]));

interface ClusterSecrets {
  readonly password: string;
  readonly replication: string;
  readonly rewind: string;
  readonly restApi: { readonly username: string; readonly password: string };
}

/**
 * Waits until every replica streams from the leader (Patroni calls a replica "running" as soon as
 * its server runs, before it has found its replication slot): one that is not streaming when the
 * leader fails may have to follow a new timeline from WAL the leader never archived.
 */
async function waitForStreaming(leader: Server, replicas: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let streaming: string[] = [];
  while (!replicas.every((name) => streaming.includes(name))) {
    if (Date.now() > deadline)
      throw new TransientError(
        `not every replica streams from ${leader.name} after ${timeoutMs / 1000} s (streaming: ${streaming.join(', ') || 'none'})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
    streaming = (await adminSql(leader, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming';").catch(() => ''))
      .split('\n')
      .filter((name) => name !== '');
  }
}

/** Every loopback port the local cloud has given out: servers', Patroni's and etcd's. */
async function takenPorts(home: string): Promise<Set<number>> {
  const taken = new Set<number>();
  for (const { record } of await listNodes(home)) {
    taken.add(record.port);
    if (record.restPort !== undefined) taken.add(record.restPort);
  }
  for (const dir of await listDcsDirs(home)) {
    for (const member of (await readDcs(dir))?.members ?? []) {
      taken.add(member.client.port);
      taken.add(member.peer.port);
    }
  }
  return taken;
}
const nodeIdOf = (planId: string, nodeName: string): string => `local-${planId}-${nodeName}`;
const gib = (value: number): string => String(Math.round(value * 10) / 10);

async function filterAsync<T>(items: readonly T[], predicate: (item: T) => Promise<boolean>): Promise<T[]> {
  const keep = await Promise.all(items.map(predicate));
  return items.filter((_, index) => keep[index]);
}

async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
}

/** Has the server read its configuration files again, and waits until it has (pg_conf_load_time passes the time it was asked). */
async function reloadConfig(server: Server): Promise<void> {
  const asked = (await adminSql(server, 'SELECT pg_catalog.clock_timestamp(); SELECT pg_catalog.pg_reload_conf();\n')).split('\n')[0] ?? '';
  const deadline = Date.now() + 10_000;
  while ((await adminSql(server, `SELECT pg_catalog.pg_conf_load_time() >= ${quoteLiteral(asked)}::timestamptz;\n`)).trim() !== 't') {
    if (Date.now() > deadline) throw new TransientError(`${server.name} did not read its configuration again within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
