export * from './catalog/index.ts';
export * from './cs-json/index.ts';
export * from './errors.ts';
export * from './transform/index.ts';
export * from './tuning/index.ts';
export * from './plans/index.ts';
export * from './deployments/index.ts';
export * from './backups/index.ts';
