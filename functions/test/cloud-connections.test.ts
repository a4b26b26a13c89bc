import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { azureConnectCommands, azureDeployerRole } from '@cloudseed/shared/targets/azure/connection';
import { AZURE_PROVIDER_ACTIONS } from '@cloudseed/shared/targets/azure/actions';
import { GCP_PROVIDER_PERMISSIONS, gcpConnectCommands, gcpDeployerEmail } from '@cloudseed/shared/targets/gcp/connection';
import { createHttpHeaders } from '@azure/core-rest-pipeline';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { mockClient } from 'aws-sdk-client-mock';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { azureCredentialFor } from '../providers/azure/connection.ts';
import { gcpAuthFor } from '../providers/gcp/connection.ts';
import { gcpBackupBucketName } from '@cloudseed/shared/targets/gcp/index';
import { bootInstances, fakeProject, gcpProvider, gcpTarget, PROJECT, REGION } from './support/gcp-project.ts';

// Connecting a customer's Google Cloud project or Azure subscription with no stored secret: the
// commands the customer runs, and the token exchanges the providers' credentials make, checked on
// the wire (nock) with the Google and Azure libraries' own code.

const GCP = { projectId: 'acme-prod-4821', projectNumber: '482113570042' };
const PLATFORM = { awsAccountId: '111122223333', roleName: 'CloudSeed-StepsRole' };
const AZURE = {
  tenantId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  subscriptionId: '6f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
  resourceGroup: 'acme-prod',
};
const APP_ID = '9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

const saved = { ...process.env };

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  nock.cleanAll();
  process.env = { ...saved };
});

afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('connecting a Google Cloud project', () => {
  it('tells the customer the gcloud commands: a pool that trusts only the platform role, a custom role, and impersonation through the pool', () => {
    const steps = gcpConnectCommands(GCP, PLATFORM);

    expect(steps.map((step) => step.command)).toEqual([
      'gcloud services enable compute.googleapis.com secretmanager.googleapis.com iam.googleapis.com iamcredentials.googleapis.com sts.googleapis.com storage.googleapis.com cloudresourcemanager.googleapis.com --project=acme-prod-4821',
      'gcloud iam workload-identity-pools create cloudseed --project=acme-prod-4821 --location=global --display-name="CloudSeed"',
      'gcloud iam workload-identity-pools providers create-aws cloudseed-aws --project=acme-prod-4821 --location=global --workload-identity-pool=cloudseed ' +
        `--account-id=111122223333 --attribute-condition="attribute.aws_role == 'arn:aws:sts::111122223333:assumed-role/CloudSeed-StepsRole'"`,
      `gcloud iam roles create cloudseedDeployer --project=acme-prod-4821 --title="CloudSeed deployer" --permissions=${GCP_PROVIDER_PERMISSIONS.join(',')}`,
      'gcloud iam service-accounts create cloudseed-deployer --project=acme-prod-4821 --display-name="CloudSeed deployer" && ' +
        'gcloud projects add-iam-policy-binding acme-prod-4821 --member=serviceAccount:cloudseed-deployer@acme-prod-4821.iam.gserviceaccount.com --role=projects/acme-prod-4821/roles/cloudseedDeployer --condition=None',
      'gcloud iam service-accounts add-iam-policy-binding cloudseed-deployer@acme-prod-4821.iam.gserviceaccount.com --project=acme-prod-4821 --role=roles/iam.workloadIdentityUser ' +
        '--member="principalSet://iam.googleapis.com/projects/482113570042/locations/global/workloadIdentityPools/cloudseed/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/CloudSeed-StepsRole"',
      'gcloud iam service-accounts add-iam-policy-binding cloudseed-deployer@acme-prod-4821.iam.gserviceaccount.com --project=acme-prod-4821 ' +
        '--role=roles/iam.serviceAccountTokenCreator --member=serviceAccount:cloudseed-deployer@acme-prod-4821.iam.gserviceaccount.com',
    ]);
    expect(() => gcpConnectCommands({ ...GCP, projectNumber: 'x; rm -rf /' }, PLATFORM)).toThrow(/not a Google Cloud project number/);
    expect(() => gcpConnectCommands(GCP, { ...PLATFORM, roleName: "a' || true" })).toThrow(/not an IAM role name/);
  });

  it('grants in its custom role every permission the GCP provider uses, and nothing it does not', async () => {
    const project = fakeProject();
    const provider = gcpProvider(project);
    const target = gcpTarget({ replicas: 2 });
    await provider.preflight(target);
    await provider.ensurePassword(target);
    const network = await provider.ensureSecurityGroup(target);
    const nodes = await provider.launchNodes(target, network);
    // A backup bucket made before its lifecycle rule: the next launch adds it.
    project.bucket.lifecycle = [];
    await provider.launchNodes(gcpTarget({ replicas: 2, sizeGiB: 80 }), network);
    await provider.launchNodes(gcpTarget({ replicas: 2, sizeGiB: 80, machineType: 'n2-standard-2' }), network);
    bootInstances(project);
    await provider.nodesReady(target, nodes);
    await provider.commandStatus(target, await provider.sendCommand(target, nodes, 'configure'));
    await provider.readPassword(target);
    await provider.health(target, nodes);
    // Backups: whether an object is there (validation), reading one back, removing one.
    project.leaders.add(nodes[0]!.nodeId);
    const location = { bucket: gcpBackupBucketName(PROJECT, REGION), key: `plans/${target.planId}/db/b-1.dump` };
    await provider.validateBackup(target, nodes[0]!, location, {
      sizeBytes: 1,
      sha256: 'a'.repeat(64),
      durationMs: 1,
      serverVersion: '16.4',
      tables: [],
    });
    await provider.deleteBackup(target, location);
    await provider.destroy(target);

    const used = new Set(project.calls.flatMap((call) => PERMISSIONS_OF[call.method] ?? [`unmapped ${call.method}`]));
    expect([...used].filter((permission) => !(GCP_PROVIDER_PERMISSIONS as readonly string[]).includes(permission))).toEqual([]);
    expect(GCP_PROVIDER_PERMISSIONS.filter((permission) => !used.has(permission) && !CHECKED_WITH_ANOTHER_CALL.includes(permission))).toEqual([]);
  });

  it("exchanges the platform role's signed GetCallerIdentity at Google's STS, then impersonates the deployer account", async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'ASIAPLATFORMEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'platform-secret',
      AWS_SESSION_TOKEN: 'platform-session',
    });
    let exchange: URLSearchParams | undefined;
    const sts = nock('https://sts.googleapis.com')
      .post('/v1/token', (body: Record<string, string>) => {
        exchange = new URLSearchParams(body);
        return true;
      })
      .reply(200, {
        access_token: 'federated-token',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3600,
      });
    const iamCredentials = nock('https://iamcredentials.googleapis.com')
      .post(`/v1/projects/-/serviceAccounts/${gcpDeployerEmail(GCP.projectId)}:generateAccessToken`)
      .matchHeader('authorization', 'Bearer federated-token')
      .reply(200, { accessToken: 'deployer-token', expireTime: new Date(Date.now() + 3_600_000).toISOString() });

    const { token } = await gcpAuthFor(GCP).getAccessToken();

    expect(token).toBe('deployer-token');
    expect(sts.isDone() && iamCredentials.isDone()).toBe(true);
    expect(exchange?.get('audience')).toBe(
      '//iam.googleapis.com/projects/482113570042/locations/global/workloadIdentityPools/cloudseed/providers/cloudseed-aws',
    );
    expect(exchange?.get('subject_token_type')).toBe('urn:ietf:params:aws:token-type:aws4_request');
    const subject = JSON.parse(decodeURIComponent(exchange?.get('subject_token') ?? '{}')) as {
      url: string;
      method: string;
      headers: { key: string; value: string }[];
    };
    expect(subject.url).toBe('https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15');
    expect(subject.method).toBe('POST');
    const header = (name: string) => subject.headers.find((entry) => entry.key.toLowerCase() === name)?.value;
    expect(header('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAPLATFORMEXAMPLE\/\d{8}\/eu-west-1\/sts\/aws4_request/);
    expect(header('x-amz-security-token')).toBe('platform-session');
    expect(header('x-goog-cloud-target-resource')).toBe(
      '//iam.googleapis.com/projects/482113570042/locations/global/workloadIdentityPools/cloudseed/providers/cloudseed-aws',
    );
  });
});

describe('connecting an Azure subscription', () => {
  it('tells the customer the az commands: consent, the two groups, a custom role assignable on them only, and its assignments', () => {
    const steps = azureConnectCommands(AZURE, APP_ID, 'westeurope');
    const subscription = `--subscription ${AZURE.subscriptionId}`;

    expect(steps.map((step) => step.command)).toEqual([
      `az ad sp create --id ${APP_ID}`,
      `az group create ${subscription} --name acme-prod --location westeurope && az group create ${subscription} --name cloudseed-backups --location westeurope`,
      `az role definition create ${subscription} --role-definition '${JSON.stringify(azureDeployerRole(AZURE))}'`,
      `az role assignment create ${subscription} --assignee ${APP_ID} --role "CloudSeed Deployer" --scope /subscriptions/${AZURE.subscriptionId}/resourceGroups/acme-prod && ` +
        `az role assignment create ${subscription} --assignee ${APP_ID} --role "CloudSeed Deployer" --scope /subscriptions/${AZURE.subscriptionId}/resourceGroups/cloudseed-backups`,
    ]);
    expect(azureDeployerRole(AZURE)).toMatchObject({
      Actions: [...AZURE_PROVIDER_ACTIONS],
      AssignableScopes: [
        `/subscriptions/${AZURE.subscriptionId}/resourceGroups/acme-prod`,
        `/subscriptions/${AZURE.subscriptionId}/resourceGroups/cloudseed-backups`,
      ],
    });
    expect(() => azureConnectCommands({ ...AZURE, resourceGroup: "x' && curl evil" }, APP_ID, 'westeurope')).toThrow(/not a resource group name/);
  });

  it("proves the app with a token AWS STS issues the platform role, and fails with Entra ID's reason when the app does not trust it", async () => {
    const stsMock = mockClient(STSClient);
    stsMock.on(GetWebIdentityTokenCommand).resolves({ WebIdentityToken: 'eyJhbGciOiJSUzI1NiJ9.aws-issued.signature' });
    let sent: URLSearchParams | undefined;
    const authority = `https://login.microsoftonline.com/${AZURE.tenantId}`;
    // Entra ID as the credential's own HTTP client meets it: the authority's metadata, then the token endpoint.
    const entra: HttpClient = {
      sendRequest: (request) => {
        const json = (status: number, body: unknown) =>
          Promise.resolve({ request, status, headers: createHttpHeaders({ 'content-type': 'application/json' }), bodyAsText: JSON.stringify(body) });
        if (request.method === 'POST' && request.url.startsWith(`${authority}/oauth2/v2.0/token`)) {
          sent = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
          return json(400, {
            error: 'invalid_client',
            error_description:
              "AADSTS700213: No matching federated identity record found for presented assertion subject 'arn:aws:iam::111122223333:role/CloudSeed-StepsRole'.",
            error_codes: [700213],
          });
        }
        if (request.url.includes('/discovery/instance'))
          return json(200, { tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`, metadata: [] });
        return json(200, {
          token_endpoint: `${authority}/oauth2/v2.0/token`,
          issuer: `${authority}/v2.0`,
          authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
        });
      },
    };

    const credential = azureCredentialFor(AZURE, APP_ID, new STSClient({ region: 'eu-west-1' }), { httpClient: entra });

    await expect(credential.getToken('https://management.azure.com/.default')).rejects.toThrow(/AADSTS700213: No matching federated identity record/);
    const asked = stsMock.commandCalls(GetWebIdentityTokenCommand).map((call) => call.args[0].input);
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked.map((input) => JSON.stringify(input)))).toEqual(
      new Set([JSON.stringify({ Audience: ['api://AzureADTokenExchange'], SigningAlgorithm: 'RS256', DurationSeconds: 300 })]),
    );
    expect(sent?.get('client_id')).toBe(APP_ID);
    expect(sent?.get('grant_type')).toBe('client_credentials');
    expect(sent?.get('client_assertion')).toBe('eyJhbGciOiJSUzI1NiJ9.aws-issued.signature');
    expect(sent?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    stsMock.restore();
  });
});

/** The IAM permissions each call the fake project records is checked against (Google's documented mapping). */
const PERMISSIONS_OF: Readonly<Record<string, readonly string[]>> = {
  'compute.networks.get': ['compute.networks.get'],
  'compute.networks.list': ['compute.networks.list'],
  'compute.networks.insert': ['compute.networks.create'],
  'compute.networks.delete': ['compute.networks.delete'],
  'compute.subnetworks.get': ['compute.subnetworks.get'],
  'compute.subnetworks.insert': ['compute.subnetworks.create', 'compute.networks.use'],
  'compute.subnetworks.delete': ['compute.subnetworks.delete'],
  'compute.routers.get': ['compute.routers.get'],
  'compute.routers.insert': ['compute.routers.create', 'compute.networks.use'],
  'compute.routers.delete': ['compute.routers.delete'],
  'compute.firewalls.list': ['compute.firewalls.list'],
  'compute.firewalls.insert': ['compute.firewalls.create', 'compute.networks.updatePolicy'],
  'compute.firewalls.update': ['compute.firewalls.update', 'compute.networks.updatePolicy'],
  'compute.firewalls.delete': ['compute.firewalls.delete', 'compute.networks.updatePolicy'],
  'compute.instances.get': ['compute.instances.get'],
  'compute.instances.list': ['compute.instances.list'],
  'compute.instances.insert': [
    'compute.instances.create',
    'compute.disks.create',
    'compute.disks.setLabels',
    'compute.images.useReadOnly',
    'compute.subnetworks.use',
    'compute.instances.setMetadata',
    'compute.instances.setLabels',
    'compute.instances.setServiceAccount',
    'iam.serviceAccounts.actAs',
  ],
  'compute.instances.delete': ['compute.instances.delete'],
  'compute.instances.stop': ['compute.instances.stop'],
  'compute.regionBackendServices.getHealth': ['compute.regionBackendServices.get'],
  'compute.instances.start': ['compute.instances.start'],
  'compute.instances.setMachineType': ['compute.instances.setMachineType'],
  'compute.disks.resize': ['compute.disks.resize'],
  'compute.instances.setMetadata': ['compute.instances.setMetadata'],
  'compute.instances.getGuestAttributes': ['compute.instances.getGuestAttributes'],
  'compute.regionHealthChecks.get': ['compute.regionHealthChecks.get'],
  'compute.regionHealthChecks.insert': ['compute.regionHealthChecks.create'],
  'compute.regionHealthChecks.delete': ['compute.regionHealthChecks.delete'],
  'compute.instanceGroups.get': ['compute.instanceGroups.get'],
  'compute.instanceGroups.insert': ['compute.instanceGroups.create', 'compute.networks.use'],
  'compute.instanceGroups.listInstances': ['compute.instanceGroups.list'],
  'compute.instanceGroups.addInstances': ['compute.instanceGroups.update', 'compute.instances.use'],
  'compute.instanceGroups.delete': ['compute.instanceGroups.delete'],
  'compute.regionBackendServices.get': ['compute.regionBackendServices.get'],
  'compute.regionBackendServices.insert': [
    'compute.regionBackendServices.create',
    'compute.regionHealthChecks.useReadOnly',
    'compute.instanceGroups.use',
  ],
  'compute.regionBackendServices.delete': ['compute.regionBackendServices.delete'],
  'compute.forwardingRules.get': ['compute.forwardingRules.get'],
  'compute.forwardingRules.insert': [
    'compute.forwardingRules.create',
    'compute.regionBackendServices.use',
    'compute.subnetworks.use',
    'compute.networks.use',
  ],
  'compute.forwardingRules.delete': ['compute.forwardingRules.delete'],
  'compute.globalOperations.wait': ['compute.globalOperations.get'],
  'compute.regionOperations.wait': ['compute.regionOperations.get'],
  'compute.zoneOperations.wait': ['compute.zoneOperations.get'],
  'iam.serviceAccounts.get': ['iam.serviceAccounts.get'],
  'iam.serviceAccounts.create': ['iam.serviceAccounts.create'],
  'iam.serviceAccounts.delete': ['iam.serviceAccounts.delete'],
  'secretmanager.createSecret': ['secretmanager.secrets.create'],
  'secretmanager.setIamPolicy': ['secretmanager.secrets.setIamPolicy'],
  'secretmanager.getIamPolicy': ['secretmanager.secrets.getIamPolicy'],
  'secretmanager.listSecretVersions': ['secretmanager.versions.list'],
  'secretmanager.addSecretVersion': ['secretmanager.versions.add'],
  'secretmanager.accessSecretVersion': ['secretmanager.versions.access'],
  'secretmanager.listSecrets': ['secretmanager.secrets.list'],
  'secretmanager.deleteSecret': ['secretmanager.secrets.delete'],
  'storage.createBucket': ['storage.buckets.create'],
  'storage.buckets.get': ['storage.buckets.get'],
  'storage.buckets.update': ['storage.buckets.update'],
  'storage.getIamPolicy': ['storage.buckets.getIamPolicy'],
  'storage.objects.exists': ['storage.objects.get'],
  'storage.objects.get': ['storage.objects.get'],
  'storage.objects.delete': ['storage.objects.delete'],
  'storage.setIamPolicy': ['storage.buckets.setIamPolicy'],
};

/** Permissions a one-run lifecycle in the fake does not reach by a call of its own (operations that finish at once are not waited for). */
const CHECKED_WITH_ANOTHER_CALL: readonly string[] = [
  'compute.globalOperations.get',
  'compute.regionOperations.get',
  'compute.zoneOperations.get',
  'compute.firewalls.update',
];
