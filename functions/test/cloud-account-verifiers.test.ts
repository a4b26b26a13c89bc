import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createHttpHeaders } from '@azure/core-rest-pipeline';
import type { HttpClient, PipelineRequest } from '@azure/core-rest-pipeline';
import { AZURE_PROVIDER_ACTIONS } from '@cloudseed/shared/targets/azure/actions';
import { GCP_PROVIDER_PERMISSIONS, gcpDeployerEmail } from '@cloudseed/shared/targets/gcp/connection';
import { mockClient } from 'aws-sdk-client-mock';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureGroupVerifier } from '../providers/azure/account-verifier.ts';
import { azureAppIdFrom, FEDERATION_SESSION_NAME, FederationRole, federationIdentityFrom } from '../providers/federation.ts';
import { GcpProjectVerifier } from '../providers/gcp/account-verifier.ts';
import { gcpAuthFor } from '../providers/gcp/connection.ts';

// Connecting a Google Cloud project or an Azure resource group is proven the way the workflows will
// use it: the platform's federation role signs in through the customer's trust, then the cloud says
// what the deployer may do. Google's libraries run against nock, Azure's against an HTTP client that
// answers in memory; STS is the mocked AWS adapter.

const ROLE_ARN = 'arn:aws:iam::111122223333:role/CloudSeedPlatform-CloudFederation';
const GCP = { projectId: 'acme-prod-4821', projectNumber: '482113570042' };
const AZURE = {
  tenantId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  subscriptionId: '6f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f',
  resourceGroup: 'acme-prod',
};

const stsMock = mockClient(STSClient);

function assumeRoleAnswers(expiresInMs = 3_600_000) {
  let n = 0;
  stsMock.on(AssumeRoleCommand).callsFake(() => {
    n += 1;
    return {
      Credentials: {
        AccessKeyId: `ASIAFEDERATION${n}`,
        SecretAccessKey: `secret-${n}`,
        SessionToken: `session-${n}`,
        Expiration: new Date(Date.now() + expiresInMs),
      },
    };
  });
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  stsMock.reset();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
  stsMock.restore();
});

describe('the federation role', () => {
  it('is assumed once with its session name, and again only when its credentials are about to expire', async () => {
    assumeRoleAnswers(6 * 60_000);
    let now = Date.now();
    const role = new FederationRole(ROLE_ARN, new STSClient({ region: 'eu-west-1' }), () => now);

    const first = await role.credentials();
    const again = await role.credentials();
    now += 2 * 60_000;
    const renewed = await role.credentials();

    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toEqual([
      { RoleArn: ROLE_ARN, RoleSessionName: FEDERATION_SESSION_NAME, DurationSeconds: 3600 },
      { RoleArn: ROLE_ARN, RoleSessionName: FEDERATION_SESSION_NAME, DurationSeconds: 3600 },
    ]);
    expect(again.accessKeyId).toBe(first.accessKeyId);
    expect(renewed.accessKeyId).toBe('ASIAFEDERATION2');
  });

  it('is named by the environment, with the Entra app; malformed values stop the cold start', () => {
    expect(federationIdentityFrom({ CLOUD_FEDERATION_ROLE_ARN: ROLE_ARN, AZURE_APP_ID: '9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d' })).toEqual({
      awsAccountId: '111122223333',
      roleName: 'CloudSeedPlatform-CloudFederation',
      azureAppId: '9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
    });
    expect(federationIdentityFrom({ CLOUD_FEDERATION_ROLE_ARN: ROLE_ARN })).toEqual({
      awsAccountId: '111122223333',
      roleName: 'CloudSeedPlatform-CloudFederation',
    });
    expect(federationIdentityFrom({})).toBeUndefined();
    expect(() => azureAppIdFrom({ AZURE_APP_ID: 'cloudseed' })).toThrow(/AZURE_APP_ID must be an application \(client\) id/);
    expect(() => new FederationRole('role/CloudSeed', new STSClient({}))).toThrow(/not an IAM role ARN/);
  });
});

/** Google's STS and IAM Credentials, answering the token exchange; `refuse` answers STS's 400 instead. */
function googleSignIn(options: { refuse?: boolean } = {}) {
  let subject: { headers: { key: string; value: string }[] } | undefined;
  nock('https://sts.googleapis.com')
    .post('/v1/token', (body: Record<string, string>) => {
      subject = JSON.parse(decodeURIComponent(new URLSearchParams(body).get('subject_token') ?? '{}')) as typeof subject;
      return true;
    })
    .reply(
      options.refuse ? 400 : 200,
      options.refuse
        ? {
            error: 'invalid_grant',
            error_description: 'The audience in ID Token [//iam.googleapis.com/projects/482113570042/...] does not match the expected audience.',
          }
        : {
            access_token: 'federated-token',
            issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            token_type: 'Bearer',
            expires_in: 3600,
          },
    );
  if (!options.refuse) {
    nock('https://iamcredentials.googleapis.com')
      .post(`/v1/projects/-/serviceAccounts/${gcpDeployerEmail(GCP.projectId)}:generateAccessToken`)
      .reply(200, { accessToken: 'deployer-token', expireTime: new Date(Date.now() + 3_600_000).toISOString() });
  }
  return () => subject;
}

function gcpVerifier() {
  const role = new FederationRole(ROLE_ARN, new STSClient({ region: 'eu-west-1' }));
  return new GcpProjectVerifier((connection) => gcpAuthFor(connection, role, 'eu-west-1'));
}

describe('GcpProjectVerifier', () => {
  it("signs in as the federation role's session, impersonates the deployer, and finds every permission the provider uses", async () => {
    assumeRoleAnswers();
    const subject = googleSignIn();
    let asked: string[] | undefined;
    const resourceManager = nock('https://cloudresourcemanager.googleapis.com')
      .post(`/v1/projects/${GCP.projectId}:testIamPermissions`, (body: { permissions: string[] }) => {
        asked = body.permissions;
        return true;
      })
      .matchHeader('authorization', 'Bearer deployer-token')
      .reply(200, { permissions: [...GCP_PROVIDER_PERMISSIONS] });

    expect(await gcpVerifier().verify(GCP)).toEqual({ ok: true });
    expect(resourceManager.isDone()).toBe(true);
    expect(asked).toEqual([...GCP_PROVIDER_PERMISSIONS]);
    const header = (name: string) => subject()?.headers.find((entry) => entry.key.toLowerCase() === name)?.value;
    expect(header('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAFEDERATION1\/\d{8}\/eu-west-1\/sts\/aws4_request/);
    expect(header('x-amz-security-token')).toBe('session-1');
  });

  it('names the permissions the deployer lacks, at /projectId', async () => {
    assumeRoleAnswers();
    googleSignIn();
    const granted = GCP_PROVIDER_PERMISSIONS.filter((permission) => !permission.startsWith('compute.regionBackendServices.'));
    nock('https://cloudresourcemanager.googleapis.com').post(`/v1/projects/${GCP.projectId}:testIamPermissions`).reply(200, { permissions: granted });

    expect(await gcpVerifier().verify(GCP)).toEqual({
      ok: false,
      path: '/projectId',
      message:
        'the deployer service account lacks compute.regionBackendServices.get, compute.regionBackendServices.create, compute.regionBackendServices.delete, compute.regionBackendServices.use on project acme-prod-4821: give it the cloudseedDeployer role made with exactly the permissions the gcloud step lists',
    });
  });

  it("refuses at /projectNumber with Google's reason when the pool does not take the platform's session", async () => {
    assumeRoleAnswers();
    googleSignIn({ refuse: true });

    const outcome = await gcpVerifier().verify(GCP);

    expect(outcome).toMatchObject({ ok: false, path: '/projectNumber' });
    expect(outcome.ok ? '' : outcome.message).toMatch(
      /^CloudSeed cannot act as cloudseed-deployer@acme-prod-4821\.iam\.gserviceaccount\.com .*does not match the expected audience/,
    );
  });

  it('refuses at /projectId when Resource Manager will not answer (its API is off)', async () => {
    assumeRoleAnswers();
    googleSignIn();
    nock('https://cloudresourcemanager.googleapis.com')
      .post(`/v1/projects/${GCP.projectId}:testIamPermissions`)
      .reply(403, {
        error: { code: 403, message: 'Cloud Resource Manager API has not been used in project 482113570042 before or it is disabled.' },
      });

    expect(await gcpVerifier().verify(GCP)).toEqual({
      ok: false,
      path: '/projectId',
      message:
        'CloudSeed cannot test its permissions on project acme-prod-4821 (Cloud Resource Manager API has not been used in project 482113570042 before or it is disabled.): turn on the Cloud Resource Manager API with the first gcloud step',
    });
  });
});

/** ARM answering the permissions of the two groups; anything else is a test failure. */
function armAnswering(answers: Record<string, { status: number; body: unknown }>): HttpClient & { readonly urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    sendRequest: (request: PipelineRequest) => {
      urls.push(`${request.method} ${request.url}`);
      const group = /resourceGroups\/([^/]+)\/providers\/Microsoft\.Authorization\/permissions\?api-version=2022-04-01$/.exec(request.url)?.[1];
      const answer = group ? answers[group] : undefined;
      if (!answer) return Promise.reject(new Error(`unexpected request ${request.method} ${request.url}`));
      return Promise.resolve({
        request,
        status: answer.status,
        headers: createHttpHeaders({ 'content-type': 'application/json' }),
        bodyAsText: JSON.stringify(answer.body),
      });
    },
  };
}

const signedIn: TokenCredential = {
  getToken: () => Promise.resolve<AccessToken>({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const deployerRole = {
  value: [
    {
      actions: [...AZURE_PROVIDER_ACTIONS],
      notActions: [],
      dataActions: ['Microsoft.KeyVault/vaults/secrets/*', 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*'],
      notDataActions: [],
    },
  ],
};

describe('AzureGroupVerifier', () => {
  it("reads the app's permissions on the plans' group and the backup group, and finds every action the provider uses", async () => {
    const arm = armAnswering({ 'acme-prod': { status: 200, body: deployerRole }, 'cloudseed-backups': { status: 200, body: deployerRole } });
    const credentials: string[] = [];

    const outcome = await new AzureGroupVerifier(
      (connection) => {
        credentials.push(connection.tenantId);
        return signedIn;
      },
      { httpClient: arm, retry: { maxRetries: 0 } },
    ).verify(AZURE);

    expect(outcome).toEqual({ ok: true });
    expect(credentials).toEqual([AZURE.tenantId]);
    expect(arm.urls).toEqual(
      ['acme-prod', 'cloudseed-backups'].map(
        (group) =>
          `GET https://management.azure.com/subscriptions/${AZURE.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`,
      ),
    );
  });

  it('honours wildcards and what notActions carve out of them', async () => {
    const contributorLike = { value: [{ actions: ['*'], notActions: ['Microsoft.Compute/*/delete'], dataActions: ['*'], notDataActions: [] }] };
    const arm = armAnswering({ 'acme-prod': { status: 200, body: contributorLike } });

    const outcome = await new AzureGroupVerifier(() => signedIn, { httpClient: arm, retry: { maxRetries: 0 } }).verify(AZURE);

    expect(outcome).toMatchObject({ ok: false, path: '/resourceGroup' });
    expect(outcome.ok ? '' : outcome.message).toMatch(
      /^CloudSeed's app lacks Microsoft\.Compute\/.*\/delete.* on resource group acme-prod: assign it the CloudSeed Deployer role/,
    );
  });

  it('refuses at /resourceGroup when the backup group does not exist, and at /tenantId when the app cannot sign in', async () => {
    const arm = armAnswering({
      'acme-prod': { status: 200, body: deployerRole },
      'cloudseed-backups': {
        status: 404,
        body: { error: { code: 'ResourceGroupNotFound', message: "Resource group 'cloudseed-backups' could not be found." } },
      },
    });
    const refused: TokenCredential = {
      getToken: () => Promise.reject(new Error("AADSTS700016: Application with identifier '9c8b7a6d' was not found in the directory.\nTrace ID: 1")),
    };

    expect(await new AzureGroupVerifier(() => signedIn, { httpClient: arm, retry: { maxRetries: 0 } }).verify(AZURE)).toEqual({
      ok: false,
      path: '/resourceGroup',
      message: `resource group cloudseed-backups does not exist in subscription ${AZURE.subscriptionId}: create it with the connection's az step`,
    });
    expect(await new AzureGroupVerifier(() => refused, { httpClient: arm }).verify(AZURE)).toEqual({
      ok: false,
      path: '/tenantId',
      message: `CloudSeed's app cannot sign in to tenant ${AZURE.tenantId} (AADSTS700016: Application with identifier '9c8b7a6d' was not found in the directory.): consent to it with the connection's first az step, in this tenant`,
    });
  });
});

describe('the Google Cloud and Azure providers the workflow steps load', () => {
  it("take the plan's connection from its target, refuse a target without one, and Azure refuses a platform without its Entra app", async () => {
    const saved = { ...process.env };
    delete process.env.AZURE_APP_ID;
    delete process.env.CLOUD_FEDERATION_ROLE_ARN;
    try {
      const { providerFor } = await import('../providers/index.ts');
      const gcp = await providerFor({ cloud: 'gcp', project: GCP.projectId, region: 'us-central1', zone: 'us-central1-a' });
      const { gcpTarget } = await import('./support/gcp-project.ts');
      const { account: _account, ...unconnected } = gcpTarget({});

      await expect(gcp.preflight(unconnected)).rejects.toThrow(/names no connected Google Cloud project; connect it/);
      await expect(
        providerFor({ cloud: 'azure', subscriptionId: AZURE.subscriptionId, resourceGroup: 'acme-prod', region: 'eastus' }),
      ).rejects.toThrow(/no federation role or Entra app to sign in to Azure with/);
    } finally {
      process.env = saved;
    }
  });
});
