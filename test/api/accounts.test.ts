import { describe, expect, it } from 'vitest';
import type { CallOptions } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Connecting AWS accounts, against the real local cloud. The local cloud cannot reach AWS, so it
// connects none: what runs here is everything around the AssumeRole check (which
// functions/test/accounts.test.ts covers with a mocked STS).

interface Account {
  id: string;
  name: string;
  kind: 'aws' | 'gcp' | 'azure' | 'local';
}
interface AccountList {
  items: Account[];
  externalId: string;
  platformAccountId?: string;
  federation?: unknown;
}
interface Problem {
  type: string;
  status: number;
  title: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

const ROLE_ARN = 'arn:aws:iam::123456789012:role/CloudSeedDeployer';

const cloud = useLocalCloud();

async function call(method: string, path: string, options: CallOptions = {}) {
  const response = await cloud.api.call(method, path, options);
  return { ...response, contentType: response.headers.get('content-type') };
}

describe('GET /v1/accounts', () => {
  it('lists the built-in local account first, with an ExternalId that is the same on every call and differs per customer', async () => {
    const [first, second, bobs] = await Promise.all([
      call('GET', '/v1/accounts'),
      call('GET', '/v1/accounts'),
      call('GET', '/v1/accounts', { token: cloud.other.user.accessToken }),
    ]);

    expect(first.status).toBe(200);
    const list = first.json as AccountList;
    expect(list.items).toEqual([{ id: 'local', kind: 'local', name: 'This machine' }]);
    expect(list.externalId).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(list).not.toHaveProperty('platformAccountId');
    expect((second.json as AccountList).externalId).toBe(list.externalId);
    expect((await call('GET', '/v1/accounts/')).json).toEqual(list);
    expect((bobs.json as AccountList).externalId).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect((bobs.json as AccountList).externalId).not.toBe(list.externalId);
  });
});

const AZURE_SUBSCRIPTION = '6f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f';

describe('POST /v1/accounts', () => {
  it.each([
    ['a bad ARN', { roleArn: 'arn:aws:iam::123:role/CloudSeedDeployer' }, '/roleArn'],
    ["a role that is not CloudSeed's", { roleArn: 'arn:aws:iam::123456789012:role/OrganizationAccountAccessRole' }, '/roleArn'],
    ['an unknown field', { roleArn: ROLE_ARN, externalId: 'chosen-by-me' }, '/externalId'],
    ['a bad region', { roleArn: ROLE_ARN, region: 'moon-1' }, '/region'],
    ['a Google Cloud project without its number', { cloud: 'gcp', projectId: 'acme-prod-123' }, '/projectNumber'],
    [
      'an Azure group with a bad tenant',
      { cloud: 'azure', tenantId: 'contoso', subscriptionId: AZURE_SUBSCRIPTION, resourceGroup: 'prod' },
      '/tenantId',
    ],
    ['an unknown cloud', { cloud: 'oracle' }, '/cloud'],
  ])('answers %s with a 400 naming the field', async (_label, body, path) => {
    const response = await call('POST', '/v1/accounts', { body });

    expect(response.status).toBe(400);
    expect(response.contentType).toBe('application/problem+json');
    expect((response.json as Problem).errors?.map((error) => error.path)).toContain(path);
  });

  it('answers a valid connection with 409: the local cloud cannot reach AWS, and says where to connect', async () => {
    const response = await call('POST', '/v1/accounts', { body: { roleArn: ROLE_ARN, name: 'prod', region: 'eu-west-1' } });

    expect(response.status).toBe(409);
    expect(response.json).toEqual({
      type: 'about:blank',
      status: 409,
      title: 'Conflict',
      detail: 'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.',
    });
    expect(((await call('GET', '/v1/accounts')).json as AccountList).items.map((account) => account.id)).toEqual(['local']);
  });

  it.each([
    ['Google Cloud', { cloud: 'gcp', projectId: 'acme-prod-123', projectNumber: '482113570042' }],
    ['Azure', { cloud: 'azure', tenantId: AZURE_SUBSCRIPTION, subscriptionId: AZURE_SUBSCRIPTION, resourceGroup: 'prod' }],
  ])(
    'answers a valid %s connection with 409 (the local cloud has no federation role), stores nothing and names no federation',
    async (cloud, body) => {
      const response = await call('POST', '/v1/accounts', { body });

      expect(response.status).toBe(409);
      expect((response.json as Problem).detail).toBe(
        `The local cloud cannot reach ${cloud}; connect ${cloud} in CloudSeed on AWS. Plans here deploy to the built-in local account.`,
      );
      const list = (await call('GET', '/v1/accounts')).json as AccountList;
      expect(list.items.map((account) => account.id)).toEqual(['local']);
      expect(list.federation).toBeUndefined();
    },
  );
});

describe('DELETE /v1/accounts/{id}', () => {
  it('refuses the built-in local account with 409', async () => {
    const response = await call('DELETE', '/v1/accounts/local');
    expect(response.status).toBe(409);
    expect((response.json as Problem).detail).toMatch(/built into the local cloud/);
  });

  it('answers 404 for an id that is not an account of this customer', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'whatever']) {
      const response = await call('DELETE', `/v1/accounts/${id}`);
      expect(response.status, id).toBe(404);
      expect(response.contentType).toBe('application/problem+json');
    }
  });
});

describe('authentication', () => {
  it('answers 401 on every accounts route without a token', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/accounts'],
      ['POST', '/v1/accounts', { roleArn: ROLE_ARN }],
      ['DELETE', '/v1/accounts/local'],
    ] as const) {
      const response = await call(method, path, { token: null, ...(body ? { body } : {}) });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.json).toEqual({ type: 'about:blank', status: 401, title: 'Unauthorized', detail: 'A valid access token is required.' });
    }
  });
});

describe('deploying a plan on AWS', () => {
  it.each([
    ['an account that is not connected', '00000000-0000-4000-8000-000000000000'],
    ['no account', undefined],
  ])('refuses a plan naming %s with 400 at /target/accountId, and starts nothing', async (_label, accountId) => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'on-aws', target: { cloud: 'aws', region: 'eu-west-1', ...(accountId ? { accountId } : {}) } }),
    );

    const deploy = await call('POST', `/v1/plan/${planId}/deploy`);

    expect(deploy.status).toBe(400);
    const problem = deploy.json as Problem;
    expect(problem.errors).toEqual([{ path: '/target/accountId', message: expect.stringMatching(/^no connected account/) as unknown }]);
    expect((await call('GET', `/v1/plan/${planId}/deployment`)).json).toEqual({
      status: 'not_deployed',
      steps: [],
      components: [{ id: 'db', type: 'postgres', status: 'not_deployed' }],
    });
    expect((await call('GET', `/v1/plan/${planId}`)).json).toMatchObject({ status: 'not_deployed' });
  });
});

describe('plans on Google Cloud and Azure', () => {
  it.each([
    ['Google Cloud', { cloud: 'gcp', project: 'acme-prod-123', region: 'europe-west4' }],
    ['Azure', { cloud: 'azure', subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'cloudseed-prod', region: 'westeurope' }],
  ])(
    'are saved with their target on %s; with no account connected (the local cloud connects none) their deploy is refused with 400, starting nothing',
    async (label, target) => {
      const component = { id: 'db', type: 'postgres', os: { name: 'debian', version: '12' } };
      const created = await call('POST', '/v1/plan', { body: { apiVersion: 'cs/v1', name: 'elsewhere', target, components: [component] } });
      expect(created.status).toBe(201);
      const planId = (created.json as { id: string }).id;
      expect((created.json as { spec: { target: unknown } }).spec.target).toMatchObject(target);

      const deploy = await call('POST', `/v1/plan/${planId}/deploy`);

      expect(deploy.status).toBe(400);
      expect((deploy.json as Problem).errors).toEqual([
        {
          path: '/target/accountId',
          message: `no connected account: a plan on ${label} names one of your connected ${label} accounts (GET /v1/accounts)`,
        },
      ]);
      expect((await call('GET', `/v1/plan/${planId}`)).json).toMatchObject({ status: 'not_deployed', version: 1 });
    },
  );
});

describe('GET /v1/client-address', () => {
  it('answers the address the caller connects from, as a CIDR a plan can allow', async () => {
    const { status, json } = await call('GET', '/v1/client-address');

    expect(status).toBe(200);
    expect(json).toEqual({ address: '127.0.0.1', cidr: '127.0.0.1/32' });
  });

  it('ignores a viewer-address header locally, where no CloudFront sets it', async () => {
    const response = await call('GET', '/v1/client-address', { headers: { 'x-cloudseed-viewer-address': '203.0.113.9' } });

    expect(response.json).toEqual({ address: '127.0.0.1', cidr: '127.0.0.1/32' });
  });

  it('needs a token', async () => {
    const { status } = await call('GET', '/v1/client-address', { token: null });

    expect(status).toBe(401);
  });
});
