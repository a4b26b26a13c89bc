// PostgreSQL knowledge that holds on every cloud: tuning, the server's configuration files, the
// nodes a component runs as, what each OS installs where, and how superuser sessions are kept safe.
export { dataSizes, formatKb, parseMemory, storageKinds, supportedPgMajors, tune, workloads } from './pgtune.ts';
export type { DataSize, StorageKind, TuneInput, TuneResult, Workload } from './pgtune.ts';
export {
  ADMIN_USER,
  OWNER_MAP,
  REPLICATION_MARKER,
  REPLICATION_USER,
  productionSettings,
  renderPgHba,
  renderPgIdent,
  renderPostgresqlConf,
  tuneComponent,
} from './config.ts';
export type { HbaOptions, NodeRole, ServerLayout } from './config.ts';
export { POSTGRES_PORT, nodeCount, planNodes } from './nodes.ts';
export type { PlannedNode } from './nodes.ts';
export { defaultOs, findOs, operatingSystems } from './os.ts';
export type { Architecture, OsImage, OsName } from './os.ts';
