// One folder per cloud a plan can target. Each renders its own deployment document from the
// normalised cs-json plan and owns its catalog, images, prices and account connection; what they
// share (a machine, a cost estimate, the catalogs behind one shape) sits beside them.
export * from './aws/index.ts';
export * from './azure/index.ts';
export * from './gcp/index.ts';
export * from './local/index.ts';
export { catalogFor, machineCatalogs, withMachineHint } from './catalogs.ts';
export type { MachineCatalog, PricedCloud } from './catalogs.ts';
export { cheapestMachine, chooseMachine, nodesCost } from './machines.ts';
export type { Machine, MachineChoice, MachineRequest } from './machines.ts';
export { renderDeploymentDocument } from './render.ts';
export { TRANSFORMER_VERSION } from './version.ts';
export type { RenderContext } from './version.ts';
