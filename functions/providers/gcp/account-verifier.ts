import { GCP_DEPLOYER_ROLE, GCP_PROVIDER_PERMISSIONS, gcpDeployerEmail } from '@cloudseed/shared/targets/gcp/connection';
import type { GcpConnection } from '@cloudseed/shared/targets/gcp/connection';
import type { CloudVerifyOutcome, GcpAccountVerifier } from '@cloudseed/shared';
import type { AuthClient } from 'google-auth-library';
import { TransientError } from '../errors.ts';

// Connecting a project proves the connection first, the way the workflows will use it: the
// platform signs in through the project's Workload Identity pool and impersonates the deployer
// service account (a wrong project number, a pool or provider that is missing or trusts another
// role, or a missing workloadIdentityUser binding all fail here), then asks Resource Manager which
// of the provider's permissions the deployer holds on the project (testIamPermissions needs no
// permission of its own). A permission missing now would fail a deploy halfway.

const TEST_PERMISSIONS_URL = (projectId: string) => `https://cloudresourcemanager.googleapis.com/v1/projects/${projectId}:testIamPermissions`;
/** How many missing permissions the message names before "and N more". */
const NAMED = 5;

interface HttpFailure {
  readonly status?: number;
  readonly response?: { readonly status?: number; readonly data?: unknown };
  readonly message?: string;
}

function statusOf(error: unknown): number | undefined {
  const failure = error as HttpFailure | undefined;
  return failure?.response?.status ?? failure?.status;
}

/** Google's own words for a refusal: STS's `error_description`, or an API's `error.message`. */
function reasonOf(error: unknown): string {
  const data = (error as HttpFailure | undefined)?.response?.data as
    { error_description?: unknown; error?: { message?: unknown } | string } | undefined;
  if (typeof data?.error_description === 'string') return data.error_description;
  if (typeof data?.error === 'object' && typeof data.error.message === 'string') return data.error.message;
  return error instanceof Error ? error.message : String(error);
}

const refused = (status: number | undefined) => status !== undefined && status >= 400 && status < 500;

export class GcpProjectVerifier implements GcpAccountVerifier {
  readonly #authFor: (connection: GcpConnection) => AuthClient;

  constructor(authFor: (connection: GcpConnection) => AuthClient) {
    this.#authFor = authFor;
  }

  async verify(connection: GcpConnection): Promise<CloudVerifyOutcome> {
    const { projectId } = connection;
    const auth = this.#authFor(connection);
    try {
      await auth.getAccessToken();
    } catch (error) {
      if (!refused(statusOf(error))) throw new TransientError(`Google Cloud could not be reached to sign in: ${reasonOf(error)}`, { cause: error });
      return {
        ok: false,
        path: '/projectNumber',
        message: `CloudSeed cannot act as ${gcpDeployerEmail(projectId)} through the project's Workload Identity pool (${reasonOf(error)}): check the project number, and run the connection's gcloud steps in this project`,
      };
    }
    let granted: readonly string[];
    try {
      const response = await auth.request<{ permissions?: string[] }>({
        url: TEST_PERMISSIONS_URL(projectId),
        method: 'POST',
        data: { permissions: GCP_PROVIDER_PERMISSIONS },
      });
      granted = response.data.permissions ?? [];
    } catch (error) {
      if (!refused(statusOf(error)))
        throw new TransientError(`Google Cloud could not be reached to test permissions: ${reasonOf(error)}`, { cause: error });
      return {
        ok: false,
        path: '/projectId',
        message: `CloudSeed cannot test its permissions on project ${projectId} (${reasonOf(error)}): turn on the Cloud Resource Manager API with the first gcloud step`,
      };
    }
    const missing = GCP_PROVIDER_PERMISSIONS.filter((permission) => !granted.includes(permission));
    if (missing.length === 0) return { ok: true };
    const named = missing.slice(0, NAMED).join(', ');
    const more = missing.length > NAMED ? ` and ${missing.length - NAMED} more` : '';
    return {
      ok: false,
      path: '/projectId',
      message: `the deployer service account lacks ${named}${more} on project ${projectId}: give it the ${GCP_DEPLOYER_ROLE} role made with exactly the permissions the gcloud step lists`,
    };
  }
}
