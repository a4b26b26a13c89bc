import {
  accountResource,
  AccountService,
  DENIED_MESSAGE,
  type AccountRecord,
  type AccountRepository,
  type CloudVerifyOutcome,
  type VerifyOutcome,
} from '@cloudseed/shared/accounts/accounts';
import type { DeploymentRecord } from '@cloudseed/shared/deployments/deployments';
import { Conflict, NotFound, ValidationFailed } from '@cloudseed/shared/errors';
import type { PlanPage } from '@cloudseed/shared/plans/plans';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../api/client.ts';
import { polyfillDialog } from '../deployment/test-fakes.ts';
import AccountsView from './accounts-view.svelte';
import { Accounts } from './accounts.svelte.ts';
import { AZURE_GROUP, EXTERNAL_ID, FEDERATION, GCP_PROJECT, PLATFORM_ACCOUNT_ID, ROLE_ARN } from './test-fakes.ts';

// The page over the real client and the real account rules (shared/accounts): the API's routes
// are answered by AccountService with the storage in memory and the AssumeRole check scripted,
// mapped to problems as the API maps them. What the schema and the service say must land where the page shows it.

beforeAll(polyfillDialog);

const OWNER = 'user-1';
const TEMPLATE_URL = 'https://cloudseed-templates.s3.amazonaws.com/cloudseed-account.json';

function memoryRepository(): AccountRepository {
  const records: AccountRecord[] = [];
  return {
    getExternalId: () => Promise.resolve(EXTERNAL_ID),
    claimExternalId: () => Promise.resolve(EXTERNAL_ID),
    list: (ownerId) => Promise.resolve(records.filter((record) => record.ownerId === ownerId)),
    get: (ownerId, id) => Promise.resolve(records.find((record) => record.ownerId === ownerId && record.id === id)),
    create: (record) => {
      records.push(record);
      return Promise.resolve();
    },
    delete: (ownerId, id) => {
      records.splice(
        records.findIndex((record) => record.ownerId === ownerId && record.id === id),
        1,
      );
      return Promise.resolve();
    },
  };
}

function platform() {
  const state = {
    outcome: 'denied' as VerifyOutcome,
    gcp: { ok: true } as CloudVerifyOutcome,
    azure: { ok: true } as CloudVerifyOutcome,
    deployed: [] as DeploymentRecord[],
  };
  let ids = 0;
  const service = new AccountService({
    repository: memoryRepository(),
    verifier: { verify: () => Promise.resolve(state.outcome) },
    gcpVerifier: { verify: () => Promise.resolve(state.gcp) },
    azureVerifier: { verify: () => Promise.resolve(state.azure) },
    plans: {
      list: () =>
        Promise.resolve({ items: state.deployed.map((deployment) => ({ id: deployment.planId, spec: deployment.spec })) } as unknown as PlanPage),
    },
    deployments: { listByOwner: () => Promise.resolve(state.deployed) },
    now: () => new Date('2026-11-24T09:00:00.000Z'),
    newId: () => `00000000-0000-4000-8000-00000000000${++ids}`,
    newExternalId: () => EXTERNAL_ID,
    builtInLocal: false,
    platformAccountId: PLATFORM_ACCOUNT_ID,
    templateUrl: TEMPLATE_URL,
    federation: FEDERATION,
  });

  const problem = (status: number, title: string, detail: string, errors?: unknown) =>
    new Response(JSON.stringify({ status, title, detail, ...(errors ? { errors } : {}) }), {
      status,
      headers: { 'content-type': 'application/problem+json' },
    });

  const fetcher: typeof fetch = async (input, init) => {
    const path = typeof input === 'string' ? input : input instanceof URL ? input.pathname : input.url;
    const method = init?.method ?? 'GET';
    try {
      if (method === 'GET' && path === '/v1/accounts') return Response.json(await service.list(OWNER));
      if (method === 'POST' && path === '/v1/accounts') {
        return Response.json(accountResource(await service.connect(OWNER, JSON.parse(typeof init?.body === 'string' ? init.body : 'null'))), {
          status: 201,
        });
      }
      const remove = /^\/v1\/accounts\/([^/]+)$/.exec(path);
      if (method === 'DELETE' && remove?.[1]) {
        await service.disconnect(OWNER, decodeURIComponent(remove[1]));
        return new Response(null, { status: 204 });
      }
      return problem(404, 'Not Found', `No route ${method} ${path}`);
    } catch (error) {
      if (error instanceof ValidationFailed) return problem(400, 'Bad Request', error.message, error.errors);
      if (error instanceof Conflict) return problem(409, 'Conflict', error.message);
      if (error instanceof NotFound) return problem(404, 'Not Found', error.message);
      throw error;
    }
  };
  return { state, client: new ApiClient(() => Promise.resolve('token'), fetcher) };
}

describe('the AWS accounts page over the account rules', () => {
  it('connects an account once the role answers, after showing why it did not', async () => {
    const { state, client } = platform();
    render(AccountsView, { accounts: new Accounts(client), mode: 'aws' });
    await screen.findByRole('heading', { name: 'Connected accounts' });

    await fireEvent.input(screen.getByLabelText('Role ARN'), { target: { value: ROLE_ARN } });
    await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'production' } });
    await fireEvent.change(screen.getByLabelText('Region'), { target: { value: 'eu-west-1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Connect account' }));

    // The trust policy refused: the message under the role, the launch link for eu-west-1 in the alert.
    await screen.findByText(DENIED_MESSAGE);
    expect(screen.getByLabelText('Role ARN').getAttribute('aria-invalid')).toBe('true');
    const launch = within(screen.getByRole('alert')).getByRole<HTMLAnchorElement>('link', { name: /Launch the CloudSeed template/ });
    const url = new URL(launch.href);
    expect(url.searchParams.get('region')).toBe('eu-west-1');
    expect(url.hash).toContain(`param_ExternalId=${EXTERNAL_ID}`);
    expect(url.hash).toContain(`param_PlatformAccountId=${PLATFORM_ACCOUNT_ID}`);

    state.outcome = 'verified';
    await fireEvent.input(screen.getByLabelText('Role ARN'), { target: { value: ROLE_ARN } });
    await fireEvent.click(screen.getByRole('button', { name: 'Connect account' }));

    await screen.findByText('Connected production (AWS account 123456789012).');
    const row = screen.getByRole('rowheader', { name: /^production/ }).closest('tr');
    const cells = within(row as HTMLElement).getAllByRole('cell');
    expect([cells[0]?.textContent, cells[2]?.textContent]).toEqual(['AWS', 'eu-west-1']);
    expect(within(row as HTMLElement).getByText('123456789012')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('refuses to remove an account a deployed plan runs in, and says which', async () => {
    const { state, client } = platform();
    state.outcome = 'verified';
    await client.connectAccount({ roleArn: ROLE_ARN, name: 'production', region: 'eu-west-1' });
    const [account] = (await client.accountList()).items;
    state.deployed = [
      {
        planId: 'plan-1',
        spec: { name: 'orders', target: { cloud: 'aws', region: 'eu-west-1', accountId: account?.id } },
      } as unknown as DeploymentRecord,
    ];
    render(AccountsView, { accounts: new Accounts(client), mode: 'aws' });

    await fireEvent.click(await screen.findByRole('button', { name: 'Remove production' }));
    const dialog = await screen.findByRole('dialog', { name: 'Remove production?' });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove account' }));

    expect((await within(dialog).findByRole('alert')).textContent).toMatch(
      /^production was not removed: Deployed plans run in this account \(orders\)/,
    );

    state.deployed = [];
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove account' }));
    await screen.findByText('Removed production.');
    expect(screen.getByText(/No accounts connected yet/)).toBeTruthy();
  });

  it('connects a Google Cloud project once CloudSeed can deploy there, after showing why it could not under the field it is about', async () => {
    const { state, client } = platform();
    state.gcp = { ok: false, path: '/projectNumber', message: 'CloudSeed cannot sign in through the pool cloudseed of project 482913004512' };
    render(AccountsView, { accounts: new Accounts(client), mode: 'aws' });
    await screen.findByRole('heading', { name: 'Connected accounts' });
    await fireEvent.click(screen.getByRole('radio', { name: 'Google Cloud project' }));

    await fireEvent.input(screen.getByLabelText('Project ID'), { target: { value: GCP_PROJECT.projectId } });
    await fireEvent.input(screen.getByLabelText('Project number'), { target: { value: GCP_PROJECT.projectNumber } });
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    await screen.findByText('CloudSeed cannot sign in through the pool cloudseed of project 482913004512');
    expect(screen.getByLabelText('Project number').getAttribute('aria-invalid')).toBe('true');

    state.gcp = { ok: true };
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    await screen.findByText('Connected Google Cloud shop-prod-4821 (Google Cloud project shop-prod-4821).');
    const row = screen.getByRole('rowheader', { name: /^Google Cloud shop-prod-4821/ }).closest('tr') as HTMLElement;
    const cells = within(row).getAllByRole('cell');
    expect([cells[0]?.textContent, cells[2]?.textContent]).toEqual(['Google Cloud', 'us-central1']);
    expect(within(row).getByText('482913004512')).toBeTruthy();
  });

  it('sends an Azure resource group in the body the account rules take, and shows their answer under its field', async () => {
    const { state, client } = platform();
    state.azure = { ok: false, path: '/resourceGroup', message: 'the app has no role on this resource group' };
    render(AccountsView, { accounts: new Accounts(client), mode: 'aws' });
    await screen.findByRole('heading', { name: 'Connected accounts' });
    await fireEvent.click(screen.getByRole('radio', { name: 'Azure resource group' }));

    await fireEvent.input(screen.getByLabelText('Tenant ID'), { target: { value: AZURE_GROUP.tenantId } });
    await fireEvent.input(screen.getByLabelText('Subscription ID'), { target: { value: AZURE_GROUP.subscriptionId } });
    await fireEvent.input(screen.getByLabelText('Resource group'), { target: { value: AZURE_GROUP.resourceGroup } });
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    await screen.findByText('The app has no role on this resource group');
    expect(screen.getByLabelText('Resource group').getAttribute('aria-invalid')).toBe('true');
    expect(screen.queryByRole('alert')).toBeNull();

    state.azure = { ok: true };
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    await screen.findByText('Connected Azure shop-prod (Azure resource group shop-prod).');
    expect(screen.getByRole('rowheader', { name: /^Azure shop-prod/ })).toBeTruthy();
  });
});
