// Everything that is Google Cloud's own: the gcp-json document, the Compute Engine machine catalog
// and its prices, the images, and what a component costs there.
export { gcpComponentCost, gcpDiskTypeFor, gcpMachineFor, BOOT_DISK_GIB, BOOT_DISK_TYPE, FORWARDING_RULE_USD_PER_HOUR } from './cost.ts';
export {
  GCP_JSON_VERSION,
  HEALTH_CHECK_RANGES,
  SUBNET_RANGE,
  backupBucketName as gcpBackupBucketName,
  renderCertificateAuthoritySecret,
  renderGcpComponent,
  resourceName as gcpResourceName,
  renderGcpJson,
  renderGcpNetwork,
} from './gcp-json.ts';
export type {
  GcpComponent,
  GcpComponentContext,
  GcpFirewall,
  GcpInstanceInsert,
  GcpJson,
  GcpNetwork,
  GcpSecret,
  IamBinding,
  Labels,
} from './gcp-json.ts';
export { gcpImageFamily, gcpOsImageFor } from './images.ts';
export {
  GCP_DISK_USD_PER_GIB_MONTH,
  HYPERDISK_BALANCED_BASELINE,
  cheapestGcpFit,
  findGcpMachineType,
  gcpMachineTypes,
  onHostMaintenanceFor,
} from './machine-types.ts';
export type { GcpDiskType, GcpMachineType } from './machine-types.ts';
export { AGENT_READY_KEY, COMMAND_METADATA_KEY, GUEST_NAMESPACE, commandMetadataValue, commandStateOf, renderStartupScript } from './agent.ts';
export type { AgentCommandState } from './agent.ts';
