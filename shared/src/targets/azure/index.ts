// Everything that is Azure's own: the azure-json document, the VM size catalog and its prices, the
// Marketplace images and the disk choice.
export {
  ADMIN_USERNAME,
  AZURE_DEPLOY_TIME_FIELDS,
  AZURE_JSON_VERSION,
  AZURE_ROLES,
  BACKUP_CONTAINER,
  BACKUP_RESOURCE_GROUP,
  RUN_COMMANDS,
  VNET_ADDRESS_SPACE,
  backupStorageAccountName,
  renderAzureComponent,
  renderAzureJson,
} from './azure-json.ts';
export type { AzureComponent, AzureComponentContext, AzureJson, AzureNode, AzureResource, AzureSecurityRule, AzureTags } from './azure-json.ts';
export { OS_DISK_GIB, STANDARD_LB_USD_PER_HOUR, azureComponentCost, azureDiskFor, azureVmSizeFor } from './cost.ts';
export type { AzureDiskSku } from './cost.ts';
export { azureImageReference } from './images.ts';
export type { AzureImageReference } from './images.ts';
export { PREMIUM_SSD_TIERS, PREMIUM_SSD_V2_USD_PER_GIB_MONTH, azureVmSizes, cheapestAzureFit, findAzureVmSize, premiumSsdTier } from './vm-sizes.ts';
export type { AzureVmSize, PremiumSsdTier } from './vm-sizes.ts';
