// Everything that is AWS's own: the aws-json document, the EC2 instance catalog and its prices, the
// AMIs, the node scripts run over SSM, and how a customer's account is connected.
export {
  BACKUP_BUCKET_PREFIX,
  CUSTOMER_STACK_NAME,
  DEPLOYER_ROLE_NAME,
  awsAccountIdOf,
  backupBucketName,
  backupBucketRegion,
  launchStackUrl,
} from './account.ts';
export type { LaunchStackInput } from './account.ts';
export { AWS_JSON_VERSION, DEPLOY_TIME_FIELDS, osImageFor, renderAwsJson } from './aws-json.ts';
export { componentCost, instanceTypeFor } from './cost.ts';
export type { AwsComponent, AwsJson, AwsNode, Tag } from './aws-json.ts';
export { amiParameter } from './images.ts';
export { GP3_USD_PER_GIB_MONTH, HOURS_PER_MONTH, cheapestFit, findInstanceType, instanceTypes, monthlyCost } from './instances.ts';
export type { CostEstimate, InstanceType } from './instances.ts';
export { awsServerLayout, configDir, renderConfigureScript, renderInstallScript, replicationPasswordParameterFor, shellQuote } from './scripts.ts';
export type { ConfigureContext } from './scripts.ts';
