// One folder per cloud a plan can target. Each renders its own deployment document from the
// normalised cs-json plan and owns its catalog, images, prices and account connection.
export * from './aws/index.ts';
export * from './local/index.ts';
export { TRANSFORMER_VERSION } from './version.ts';
export type { RenderContext } from './version.ts';
