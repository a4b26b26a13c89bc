// How CloudSeed reaches a customer's Google Cloud project without a stored secret: the platform's
// AWS role is trusted by a Workload Identity Federation pool in the customer's project (an AWS
// provider that admits that one role), and the pool's identity may impersonate one service account,
// which holds a custom role with exactly what the GCP provider does. The platform's Lambda signs an
// STS GetCallerIdentity request with its own role credentials, Google's STS checks it with AWS and
// gives a federated token, and IAM Credentials turns that into the service account's access token
// (google-auth-library does all three from the configuration below).

export const GCP_POOL_ID = 'cloudseed';
export const GCP_PROVIDER_ID = 'cloudseed-aws';
export const GCP_DEPLOYER_ACCOUNT = 'cloudseed-deployer';
export const GCP_DEPLOYER_ROLE = 'cloudseedDeployer';

const PROJECT_NUMBER = /^[1-9]\d{5,18}$/;
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** A connected project, as stored: everything but the project id is derived from it and CloudSeed's names. */
export interface GcpConnection {
  readonly projectId: string;
  /** The project's number: Workload Identity Federation names the pool by it. */
  readonly projectNumber: string;
}

/** What the platform is: its AWS account and the role it signs in to Google Cloud as (its federation role). */
export interface GcpPlatformIdentity {
  readonly awsAccountId: string;
  readonly roleName: string;
}

/**
 * Every IAM permission the GCP provider uses, for the custom role of the deployer service account.
 * Some are checked as part of another call: compute.networks.updatePolicy for firewall rules,
 * compute.subnetworks.use and compute.images.useReadOnly and iam.serviceAccounts.actAs when an
 * instance is created with its subnet, image and service account, compute.disks.create and
 * compute.disks.setLabels for its disks, compute.instances.setLabels/setMetadata/setServiceAccount
 * for what the insert body carries; and for a Patroni cluster's load balancer, compute.instances.use
 * (adding a node to the group), compute.regionHealthChecks.useReadOnly and compute.instanceGroups.use
 * (the backend service naming them), compute.regionBackendServices.use (the forwarding rule naming it).
 */
export const GCP_PROVIDER_PERMISSIONS = [
  'compute.networks.get',
  'compute.networks.list',
  'compute.networks.create',
  'compute.networks.delete',
  'compute.networks.updatePolicy',
  'compute.networks.use',
  'compute.subnetworks.get',
  'compute.subnetworks.create',
  'compute.subnetworks.delete',
  'compute.subnetworks.use',
  'compute.routers.get',
  'compute.routers.create',
  'compute.routers.delete',
  'compute.firewalls.list',
  'compute.firewalls.create',
  'compute.firewalls.update',
  'compute.firewalls.delete',
  'compute.instances.get',
  'compute.instances.list',
  'compute.instances.create',
  'compute.instances.delete',
  'compute.instances.setMetadata',
  'compute.instances.setLabels',
  'compute.instances.setServiceAccount',
  'compute.instances.stop',
  'compute.instances.start',
  'compute.instances.setMachineType',
  'compute.instances.getGuestAttributes',
  'compute.disks.create',
  'compute.disks.setLabels',
  'compute.disks.resize',
  'compute.images.useReadOnly',
  'compute.regionHealthChecks.get',
  'compute.regionHealthChecks.create',
  'compute.regionHealthChecks.delete',
  'compute.regionHealthChecks.useReadOnly',
  'compute.instanceGroups.get',
  'compute.instanceGroups.list',
  'compute.instanceGroups.create',
  'compute.instanceGroups.update',
  'compute.instanceGroups.delete',
  'compute.instanceGroups.use',
  'compute.instances.use',
  'compute.regionBackendServices.get',
  'compute.regionBackendServices.create',
  'compute.regionBackendServices.delete',
  'compute.regionBackendServices.use',
  'compute.forwardingRules.get',
  'compute.forwardingRules.create',
  'compute.forwardingRules.delete',
  'compute.globalOperations.get',
  'compute.regionOperations.get',
  'compute.zoneOperations.get',
  'iam.serviceAccounts.get',
  'iam.serviceAccounts.create',
  'iam.serviceAccounts.delete',
  'iam.serviceAccounts.actAs',
  'secretmanager.secrets.create',
  'secretmanager.secrets.delete',
  'secretmanager.secrets.list',
  'secretmanager.secrets.getIamPolicy',
  'secretmanager.secrets.setIamPolicy',
  'secretmanager.versions.add',
  'secretmanager.versions.list',
  'secretmanager.versions.access',
  'storage.buckets.create',
  // The backup bucket's lifecycle: a bucket made before the metrics rule gets it.
  'storage.buckets.get',
  'storage.buckets.update',
  'storage.buckets.getIamPolicy',
  'storage.buckets.setIamPolicy',
  // Backups: the manifests and fingerprints the nodes store are read back, a failed or expired backup removed.
  'storage.objects.get',
  'storage.objects.delete',
] as const;

export type GcpPermission = (typeof GCP_PROVIDER_PERMISSIONS)[number];

export function gcpDeployerEmail(projectId: string): string {
  return `${GCP_DEPLOYER_ACCOUNT}@${projectId}.iam.gserviceaccount.com`;
}

function checkConnection({ projectId, projectNumber }: GcpConnection): void {
  if (!PROJECT_ID.test(projectId)) throw new RangeError(`${JSON.stringify(projectId)} is not a Google Cloud project id`);
  if (!PROJECT_NUMBER.test(projectNumber)) throw new RangeError(`${JSON.stringify(projectNumber)} is not a Google Cloud project number`);
}

function checkPlatform({ awsAccountId, roleName }: GcpPlatformIdentity): void {
  if (!/^\d{12}$/.test(awsAccountId)) throw new RangeError(`${JSON.stringify(awsAccountId)} is not an AWS account id`);
  if (!ROLE_NAME.test(roleName)) throw new RangeError(`${JSON.stringify(roleName)} is not an IAM role name`);
}

/** The pool's provider, as Google's STS names it in the token exchange's audience. */
export function gcpProviderResource({ projectNumber }: GcpConnection): string {
  return `projects/${projectNumber}/locations/global/workloadIdentityPools/${GCP_POOL_ID}/providers/${GCP_PROVIDER_ID}`;
}

/** The AWS role session the pool admits, as the provider's `attribute.aws_role` reads an assumed role. */
export function platformAwsRole({ awsAccountId, roleName }: GcpPlatformIdentity): string {
  return `arn:aws:sts::${awsAccountId}:assumed-role/${roleName}`;
}

/**
 * google-auth-library's external account configuration (the `external_account` credentials file
 * format): AWS credentials from the Lambda's environment, exchanged at Google's STS, then the
 * deployer service account impersonated for an hour at most.
 */
export function gcpExternalAccountConfig(connection: GcpConnection) {
  checkConnection(connection);
  return {
    type: 'external_account',
    audience: `//iam.googleapis.com/${gcpProviderResource(connection)}`,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    token_url: 'https://sts.googleapis.com/v1/token',
    service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${gcpDeployerEmail(connection.projectId)}:generateAccessToken`,
    credential_source: {
      environment_id: 'aws1',
      regional_cred_verification_url: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
    },
  } as const;
}

export interface SetupStep {
  /** What the step does, in a sentence. */
  readonly summary: string;
  /** One shell command to copy. */
  readonly command: string;
}

/** The gcloud commands that connect a project: a pool trusting the platform's role, the deployer account, its role, and who may impersonate it. */
export function gcpConnectCommands(connection: GcpConnection, platform: GcpPlatformIdentity): SetupStep[] {
  checkConnection(connection);
  checkPlatform(platform);
  const { projectId, projectNumber } = connection;
  const project = `--project=${projectId}`;
  const email = gcpDeployerEmail(projectId);
  const role = platformAwsRole(platform);
  return [
    {
      summary: 'Turn on the APIs CloudSeed calls.',
      command: `gcloud services enable compute.googleapis.com secretmanager.googleapis.com iam.googleapis.com iamcredentials.googleapis.com sts.googleapis.com storage.googleapis.com cloudresourcemanager.googleapis.com ${project}`,
    },
    {
      summary: 'Create a Workload Identity pool for CloudSeed.',
      command: `gcloud iam workload-identity-pools create ${GCP_POOL_ID} ${project} --location=global --display-name="CloudSeed"`,
    },
    {
      summary: "Trust CloudSeed's AWS account in it, and only the role CloudSeed deploys with.",
      command:
        `gcloud iam workload-identity-pools providers create-aws ${GCP_PROVIDER_ID} ${project} --location=global ` +
        `--workload-identity-pool=${GCP_POOL_ID} --account-id=${platform.awsAccountId} ` +
        `--attribute-condition="attribute.aws_role == '${role}'"`,
    },
    {
      summary: 'Create the role CloudSeed deploys with: exactly the permissions it uses.',
      command: `gcloud iam roles create ${GCP_DEPLOYER_ROLE} ${project} --title="CloudSeed deployer" --permissions=${GCP_PROVIDER_PERMISSIONS.join(',')}`,
    },
    {
      summary: 'Create the service account CloudSeed acts as, and give it that role.',
      command:
        `gcloud iam service-accounts create ${GCP_DEPLOYER_ACCOUNT} ${project} --display-name="CloudSeed deployer" && ` +
        `gcloud projects add-iam-policy-binding ${projectId} --member=serviceAccount:${email} --role=projects/${projectId}/roles/${GCP_DEPLOYER_ROLE} --condition=None`,
    },
    {
      summary: "Let CloudSeed's role, through the pool, act as that service account.",
      command:
        `gcloud iam service-accounts add-iam-policy-binding ${email} ${project} --role=roles/iam.workloadIdentityUser ` +
        `--member="principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${GCP_POOL_ID}/attribute.aws_role/${role}"`,
    },
    {
      summary: 'Let that service account sign download links of backups as itself (and as no other account).',
      command: `gcloud iam service-accounts add-iam-policy-binding ${email} ${project} --role=roles/iam.serviceAccountTokenCreator --member=serviceAccount:${email}`,
    },
  ];
}
