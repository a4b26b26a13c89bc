export { dataSizes, formatKb, parseMemory, storageKinds, supportedPgMajors, tune, workloads } from './pgtune.ts';
export type { DataSize, StorageKind, TuneInput, TuneResult, Workload } from './pgtune.ts';
