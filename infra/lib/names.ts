import { fileURLToPath } from 'node:url';
import { DEPLOYER_ROLE_NAME } from '@cloudseed/shared/targets/aws/account';

// Names that two sides must agree on without a reference between them: the customer's template
// creates these in the customer's account, and the platform's functions name them there.

/** The role the platform assumes in a customer's account (the customer template creates it; connecting an account checks its name). */
export const CUSTOMER_ROLE_NAME = DEPLOYER_ROLE_NAME;

/**
 * Node roles and instance profiles, one per plan, live under this IAM path in the customer's account
 * and must carry the boundary policy of this name (AwsProvider creates them, node-role.ts).
 */
export { NODE_BOUNDARY_POLICY_NAME, NODE_ROLE_PATH } from '@cloudseed/functions/providers/aws/node-role';

/**
 * The platform's stack. CloudFormation names the roles it creates without a name `<stack>-<id>-<suffix>`,
 * so every platform role that assumes a customer's role starts with `CloudSeedPlatform-`: the
 * customer's trust policy names that prefix (aws:PrincipalArn).
 */
export const PLATFORM_STACK_ID = 'CloudSeedPlatform';

/** SSM parameters CloudSeed keeps in a customer's account (database passwords) live under this path. */
export const PARAMETER_PATH = 'cloudseed';

/**
 * Backups are under `plans/` (shared/src/backups/backups.ts) of the bucket the customer template
 * creates, `cloudseed-backups-<customer account>-<region>` (backupBucketName in
 * shared/src/accounts/accounts.ts: the platform derives it from the connected account).
 */
export const BACKUP_OBJECTS = 'plans/*';

/** The tag every resource CloudSeed creates in a customer's account carries, with the value `true`. */
export const MANAGED_TAG = 'cloudseed:managed';

/** The repository's root: Lambda entry points and state machine files are found from here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
