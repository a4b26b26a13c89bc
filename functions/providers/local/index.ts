export { LocalProvider, PreflightRefused, ensureHomeReachable, machineMemoryGiB } from './local-provider.ts';
export type { LocalProviderOptions } from './local-provider.ts';
export { startExisting, stopAll } from './lifecycle.ts';
export type { LifecycleOptions, NodeOutcome } from './lifecycle.ts';
export { clearFaults, consumeFault, injectFault, readFaults } from './faults.ts';
export type { FaultMode, Faults } from './faults.ts';
export { archiveRepositoryFrom } from './archive.ts';
