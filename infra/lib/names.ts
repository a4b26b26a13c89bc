import { fileURLToPath } from 'node:url';
import { DEPLOYER_ROLE_NAME } from '@cloudseed/shared/accounts/accounts';

// Names that two sides must agree on without a reference between them: the customer's template
// creates these in the customer's account, and the platform's functions name them there.

/** The role the platform assumes in a customer's account (the customer template creates it; connecting an account checks its name). */
export const CUSTOMER_ROLE_NAME = DEPLOYER_ROLE_NAME;

/** The nodes' role and instance profile in the customer's account; the functions pass the profile to RunInstances. */
export const NODE_ROLE_NAME = 'CloudSeedNode';
export const NODE_INSTANCE_PROFILE_NAME = 'CloudSeedNode';

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
