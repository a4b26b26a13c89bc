// How CloudSeed reaches a customer's AWS account: the role the customer template creates, the
// backup bucket it names after the account and region, and the console link that launches it.

/** The role the customer template creates; the platform may assume only roles named like this. */
export const DEPLOYER_ROLE_NAME = 'CloudSeedDeployer';
/** The name the launch link gives the customer's stack. */
export const CUSTOMER_STACK_NAME = 'CloudSeed';
/**
 * The customer template's backup bucket is `cloudseed-backups-<account id>-<region>`, in the region
 * the template was launched in (the connected account's region): the platform derives it from the
 * account record without asking, and the name says where the objects are.
 */
export const BACKUP_BUCKET_PREFIX = 'cloudseed-backups';

const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::(\d{12}):role\/([\w+=,.@/-]{1,512})$/;

const BACKUP_BUCKET = new RegExp(`^${BACKUP_BUCKET_PREFIX}-(\\d{12})-([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d{1,2})$`);
const CONSOLE = 'https://console.aws.amazon.com/cloudformation/home';

/** `cloudseed-backups-<account id>-<region>`; CDK tokens pass through, so the customer template names its bucket with this too. */
export function backupBucketName(awsAccountId: string, region: string): string {
  return `${BACKUP_BUCKET_PREFIX}-${awsAccountId}-${region}`;
}

/** The region a bucket named by backupBucketName is in; undefined for any other name. */
export function backupBucketRegion(bucket: string): string | undefined {
  return BACKUP_BUCKET.exec(bucket)?.[2];
}

/** The 12 digits of a role ARN's account; undefined when it is not a role ARN. */
export function awsAccountIdOf(roleArn: string): string | undefined {
  return ROLE_ARN.exec(roleArn)?.[2];
}

export interface LaunchStackInput {
  /** The S3 https URL the platform publishes the customer template at. */
  readonly templateUrl: string;
  readonly platformAccountId: string;
  readonly externalId: string;
  /** Where the console opens: the stack, and with it the backup bucket, is created in this region. */
  readonly region: string;
}

/**
 * The CloudFormation console's quick-create page for the customer template, with the stack name,
 * the platform account and the customer's ExternalId filled in. (The console fills only parameters
 * that are not NoEcho, which is why the template shows the ExternalId: IAM does not treat it as a
 * secret; what protects the role is that CloudSeed alone issues it, one per customer.)
 */
export function launchStackUrl(input: LaunchStackInput): string {
  const query = new URLSearchParams({
    templateURL: input.templateUrl,
    stackName: CUSTOMER_STACK_NAME,
    param_PlatformAccountId: input.platformAccountId,
    param_ExternalId: input.externalId,
  });
  return `${CONSOLE}?${new URLSearchParams({ region: input.region }).toString()}#/stacks/quickcreate?${query.toString()}`;
}
