export {
  AWS_JSON_VERSION,
  DEPLOY_TIME_FIELDS,
  POSTGRES_PORT,
  TRANSFORMER_VERSION,
  componentCost,
  instanceTypeFor,
  nodeCount,
  osImageFor,
  renderAwsJson,
} from './aws-json.ts';
export type { AwsComponent, AwsJson, AwsNode, RenderContext, Tag } from './aws-json.ts';
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
} from './postgres-config.ts';
export type { HbaOptions, NodeRole, ServerLayout } from './postgres-config.ts';
export { LOCAL_JSON_VERSION, LOOPBACK_CIDRS, renderLocalJson } from './local-json.ts';
export { awsServerLayout, configDir, renderConfigureScript, renderInstallScript, replicationPasswordParameterFor, shellQuote } from './scripts.ts';
export type { ConfigureContext } from './scripts.ts';
