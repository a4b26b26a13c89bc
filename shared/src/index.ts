export * from './cs-json/index.ts';
export * from './errors.ts';
export * from './postgres/index.ts';
export * from './targets/index.ts';
export * from './plans/index.ts';
export * from './deployments/index.ts';
export * from './backups/index.ts';
export * from './accounts/index.ts';
