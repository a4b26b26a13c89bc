import { DENIED_MESSAGE } from '@cloudseed/shared/accounts/accounts';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import axe from 'axe-core';
import { azureConnectCommands } from '@cloudseed/shared/targets/azure/connection';
import { gcpConnectCommands } from '@cloudseed/shared/targets/gcp/connection';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import { fakeClipboard, polyfillDialog } from '../deployment/test-fakes.ts';
import AccountsView from './accounts-view.svelte';
import { Accounts } from './accounts.svelte.ts';
import {
  awsAccount,
  awsList,
  AZURE_GROUP,
  azureAccount,
  EXTERNAL_ID,
  FEDERATION,
  fakeClient,
  GCP_PROJECT,
  gcpAccount,
  LAUNCH_STACK_URL,
  localList,
  PLATFORM_ACCOUNT_ID,
  ROLE_ARN,
} from './test-fakes.ts';

// The az commands take only the backup group's name from the Azure document renderer, whose node
// scripts are read from files when it loads, which cannot happen in the page.

beforeAll(polyfillDialog);

async function show(client: ReturnType<typeof fakeClient>, mode: 'local' | 'aws' = 'aws') {
  const accounts = new Accounts(client);
  render(AccountsView, { accounts, mode });
  await screen.findByRole('heading', { name: 'Connected accounts' });
  return accounts;
}

function rowOf(name: string): HTMLElement {
  const row = screen.getByRole('rowheader', { name: new RegExp(`^${name}`) }).closest('tr');
  if (!row) throw new Error(`no row for ${name}`);
  return row;
}

function cellsOf(row: HTMLElement): (string | undefined)[] {
  return within(row)
    .getAllByRole('cell')
    .map((cell) => cell.textContent?.trim());
}

/** The row's "Where" cell as [term, value] pairs. */
function whereOf(row: HTMLElement): [string | undefined, string | undefined][] {
  return [...row.querySelectorAll('dt')].map((term) => [term.textContent?.trim(), term.nextElementSibling?.textContent?.trim()]);
}

async function connect(roleArn: string, fields: { name?: string; region?: string } = {}) {
  await fireEvent.input(screen.getByLabelText('Role ARN'), { target: { value: roleArn } });
  if (fields.name !== undefined) await fireEvent.input(screen.getByLabelText('Name'), { target: { value: fields.name } });
  if (fields.region !== undefined) await fireEvent.change(screen.getByLabelText('Region'), { target: { value: fields.region } });
  await fireEvent.click(screen.getByRole('button', { name: 'Connect account' }));
}

describe('the AWS accounts page', () => {
  it('lists the local cloud’s built-in account without Remove, and says that connecting needs CloudSeed on AWS', async () => {
    await show(fakeClient(localList(awsAccount())), 'local');

    expect(screen.getByRole('heading', { level: 1, name: 'AWS accounts, Google Cloud projects and Azure resource groups' })).toBeTruthy();
    expect(screen.getByRole('note').textContent?.replace(/\s+/g, ' ')).toMatch(
      /plans deploy to this machine\. Connecting a real AWS account, Google Cloud project or Azure resource group needs .*npm run deploy.*refuses every connection here/,
    );
    const local = rowOf('This machine \\(local cloud\\)');
    expect(within(local).queryByRole('button')).toBeNull();
    const production = rowOf('production');
    expect(cellsOf(production)).toEqual(['AWS', expect.any(String), 'eu-west-1', expect.stringMatching(/2026/), 'Remove']);
    expect(whereOf(production)).toEqual([
      ['Account', '123456789012'],
      ['Role', ROLE_ARN],
    ]);
    expect(cellsOf(local).slice(0, 3)).toEqual(['This machine', '—', '—']);
    expect(within(production).getByRole('button', { name: 'Remove production' })).toBeTruthy();
    // No platform account and no template here: the ExternalId alone, and no launch link.
    expect(screen.getByLabelText<HTMLInputElement>('ExternalId').value).toBe(EXTERNAL_ID);
    expect(screen.queryByLabelText('PlatformAccountId')).toBeNull();
    expect(screen.queryByRole('link', { name: /Launch the CloudSeed template/ })).toBeNull();
  });

  it('offers the template’s launch link in a new tab, in the region picked, and both parameters to copy', async () => {
    const writeText = fakeClipboard();
    await show(fakeClient(awsList()));

    expect(screen.queryByRole('note')).toBeNull();
    expect(screen.getByText(/No accounts connected yet/)).toBeTruthy();
    const launch = screen.getByRole<HTMLAnchorElement>('link', { name: /Launch the CloudSeed template/ });
    expect(launch.target).toBe('_blank');
    expect(launch.rel).toBe('noopener');
    expect(launch.href).toBe(LAUNCH_STACK_URL);

    await fireEvent.change(screen.getByLabelText('Region'), { target: { value: 'eu-central-1' } });
    expect(new URL(launch.href).searchParams.get('region')).toBe('eu-central-1');

    expect(screen.getByLabelText<HTMLInputElement>('PlatformAccountId').value).toBe(PLATFORM_ACCOUNT_ID);
    await fireEvent.click(screen.getByRole('button', { name: 'Copy ExternalId' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Copy platform account id' }));
    expect(writeText.mock.calls).toEqual([[EXTERNAL_ID], [PLATFORM_ACCOUNT_ID]]);
  });

  it('checks the role ARN before sending it, and focuses the field in error', async () => {
    const client = fakeClient();
    await show(client);

    await connect('arn:aws:iam::123456789012:user/ada');

    const field = screen.getByLabelText('Role ARN');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(field.getAttribute('aria-describedby')?.split(' ')[0] ?? '')?.textContent).toMatch(
      /Must be an IAM role ARN such as/,
    );
    await screen.findByText(/Must be an IAM role ARN such as/);
    expect(document.activeElement).toBe(field);
    expect(client.connectAccount).not.toHaveBeenCalled();
  });

  it('shows the field errors of a 400 under their fields, and the launch link of a role that refused in the alert', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(
        400,
        'Bad Request',
        `The account's backup bucket is not in eu-west-2; see errors. To create it, launch the CloudSeed template in eu-west-2: ${LAUNCH_STACK_URL.replace('us-east-1', 'eu-west-2')}`,
        [
          { path: '/roleArn', message: DENIED_MESSAGE },
          { path: '/region', message: 'CloudSeed cannot reach the backup bucket cloudseed-backups-123456789012-eu-west-2 with this role' },
        ],
      ),
    );
    await show(client);

    await connect(ROLE_ARN, { name: 'production', region: 'eu-west-2' });

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ roleArn: ROLE_ARN, name: 'production', region: 'eu-west-2' });
    const roleArn = await screen.findByLabelText('Role ARN');
    await screen.findByText(DENIED_MESSAGE);
    expect(roleArn.getAttribute('aria-invalid')).toBe('true');
    expect(roleArn.getAttribute('aria-describedby')).toContain('account-role-arn-error');
    expect(document.getElementById('account-role-arn-error')?.textContent?.trim()).toBe(DENIED_MESSAGE);
    expect(screen.getByLabelText('Region').getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('account-region-error')?.textContent).toMatch(/^CloudSeed cannot reach the backup bucket/);
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBeNull();

    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain("The account's backup bucket is not in eu-west-2. To create it, launch the CloudSeed template in eu-west-2.");
    expect(new URL(within(alert).getByRole<HTMLAnchorElement>('link').href).searchParams.get('region')).toBe('eu-west-2');
    expect(document.activeElement).toBe(roleArn);
  });

  it('shows the local cloud’s refusal in an alert', async () => {
    const client = fakeClient(localList());
    client.connectAccount.mockRejectedValue(
      new ApiError(
        409,
        'Conflict',
        'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.',
      ),
    );
    await show(client, 'local');

    await connect(ROLE_ARN);

    expect((await screen.findByRole('alert')).textContent).toContain('The local cloud cannot reach AWS');
  });

  it('lists an account once it is connected', async () => {
    const client = fakeClient(awsList());
    await show(client);
    client.accountList.mockResolvedValue(awsList(awsAccount({ id: 'c0ffee00-0000-4000-8000-000000000002', name: 'staging' })));

    await connect(ROLE_ARN, { name: 'staging' });

    expect(await screen.findByText('Connected staging (AWS account 123456789012).')).toBeTruthy();
    expect(rowOf('staging')).toBeTruthy();
    expect(screen.getByLabelText<HTMLInputElement>('Role ARN').value).toBe('');
  });

  it('asks before removing an account, and removes nothing on Cancel', async () => {
    const client = fakeClient(awsList(awsAccount()));
    await show(client);

    await fireEvent.click(within(rowOf('production')).getByRole('button', { name: 'Remove production' }));
    const dialog = await screen.findByRole('dialog', { name: 'Remove production?' });
    expect(dialog.textContent).toContain('in AWS account 123456789012');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));

    expect(screen.queryByRole('dialog')).toBeNull();
    expect(client.deleteAccount).not.toHaveBeenCalled();

    await fireEvent.click(within(rowOf('production')).getByRole('button', { name: 'Remove production' }));
    client.accountList.mockResolvedValue(awsList());
    await fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Remove account' }));

    expect(await screen.findByText('Removed production.')).toBeTruthy();
    expect(client.deleteAccount).toHaveBeenCalledExactlyOnceWith(awsAccount().id);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.queryByRole('rowheader', { name: /production/ })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'Connected accounts' }));
  });

  it('shows why an account cannot be removed (409) in the dialog, which stays open', async () => {
    const client = fakeClient(awsList(awsAccount()));
    client.deleteAccount.mockRejectedValue(
      new ApiError(
        409,
        'Conflict',
        'Deployed plans run in this account (orders); delete them, or wait for their teardown to finish, before removing it.',
      ),
    );
    await show(client);

    await fireEvent.click(within(rowOf('production')).getByRole('button', { name: 'Remove production' }));
    const dialog = await screen.findByRole('dialog', { name: 'Remove production?' });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove account' }));

    expect((await within(dialog).findByRole('alert')).textContent).toBe(
      'production was not removed: Deployed plans run in this account (orders); delete them, or wait for their teardown to finish, before removing it.',
    );
    expect(screen.getByRole('dialog')).toBe(dialog);
    expect(rowOf('production')).toBeTruthy();
  });

  it('says when the accounts could not be loaded, and tries again on request', async () => {
    const client = fakeClient(awsList(awsAccount()));
    client.accountList.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    render(AccountsView, { accounts: new Accounts(client), mode: 'aws' });

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Cannot reach CloudSeed.');
    await fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));

    expect(await screen.findByRole('rowheader', { name: /production/ })).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

async function pick(cloud: 'AWS account' | 'Google Cloud project' | 'Azure resource group') {
  await fireEvent.click(screen.getByRole('radio', { name: cloud }));
}

async function type(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

/** The commands shown, as [summary, command] pairs. */
function commandsIn(list: HTMLElement): [string | undefined, string | undefined][] {
  return within(list)
    .getAllByRole('listitem')
    .map((item) => [item.querySelector('.summary')?.textContent ?? undefined, item.querySelector('code')?.textContent ?? undefined]);
}

async function seriousViolations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
}

describe('picking the cloud to connect', () => {
  it('offers AWS, Google Cloud and Azure as a labelled group, AWS first and picked, and keeps what was typed in each', async () => {
    await show(fakeClient());

    const group = screen.getByRole('group', { name: 'What to connect' });
    const radios = within(group).getAllByRole<HTMLInputElement>('radio');
    expect(radios.map((radio) => [radio.labels?.[0]?.textContent?.trim(), radio.checked])).toEqual([
      ['AWS account', true],
      ['Google Cloud project', false],
      ['Azure resource group', false],
    ]);
    await type('Role ARN', ROLE_ARN);

    await pick('Google Cloud project');
    expect(screen.queryByLabelText('Role ARN')).toBeNull();
    expect(screen.getByRole('form', { name: 'Connect a Google Cloud project' })).toBeTruthy();
    await type('Project ID', GCP_PROJECT.projectId);

    await pick('Azure resource group');
    expect(screen.queryByLabelText('Project ID')).toBeNull();
    expect(screen.getByLabelText('Tenant ID')).toBeTruthy();

    await pick('AWS account');
    expect(screen.getByLabelText<HTMLInputElement>('Role ARN').value).toBe(ROLE_ARN);
    await pick('Google Cloud project');
    expect(screen.getByLabelText<HTMLInputElement>('Project ID').value).toBe(GCP_PROJECT.projectId);
  });
});

describe('connecting a Google Cloud project', () => {
  it('shows the gcloud commands once the project id and number are valid, each with a button that copies it', async () => {
    const writeText = fakeClipboard();
    await show(fakeClient(awsList()));
    await pick('Google Cloud project');

    expect(screen.getByText('The commands appear here once the project ID and number are valid.')).toBeTruthy();
    await type('Project ID', GCP_PROJECT.projectId);
    await type('Project number', '4829');
    expect(screen.queryByRole('list', { name: 'gcloud commands' })).toBeNull();
    // Nothing is complained about before a first attempt.
    expect(screen.getByLabelText('Project number').getAttribute('aria-invalid')).toBeNull();

    await type('Project number', GCP_PROJECT.projectNumber);

    const expected = gcpConnectCommands(GCP_PROJECT, FEDERATION);
    const list = await screen.findByRole('list', { name: 'gcloud commands' });
    expect(commandsIn(list)).toEqual(expected.map((step) => [step.summary, step.command]));
    expect(commandsIn(list)[1]).toEqual([
      'Create a Workload Identity pool for CloudSeed.',
      'gcloud iam workload-identity-pools create cloudseed --project=shop-prod-4821 --location=global --display-name="CloudSeed"',
    ]);
    expect(screen.queryByText(/appear here once/)).toBeNull();

    for (const [index] of expected.entries()) await fireEvent.click(within(list).getByRole('button', { name: `Copy command ${index + 1}` }));
    expect(writeText.mock.calls).toEqual(expected.map((step) => [step.command]));
    expect(writeText.mock.calls[2]?.[0]).toContain("attribute.aws_role == 'arn:aws:sts::111122223333:assumed-role/CloudSeedCloudFederation'");
    expect(await seriousViolations()).toEqual([]);
  });

  it('says plainly that connecting Google Cloud needs CloudSeed on AWS where the platform has no identity there, and offers no commands', async () => {
    await show(fakeClient(localList()), 'local');
    await pick('Google Cloud project');

    await type('Project ID', GCP_PROJECT.projectId);
    await type('Project number', GCP_PROJECT.projectNumber);

    expect(
      screen.getByText(
        "Connecting a Google Cloud project needs CloudSeed running on AWS: your project trusts CloudSeed's role there. This CloudSeed does not run on AWS, and cannot reach Google Cloud.",
      ),
    ).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'gcloud commands' })).toBeNull();
    expect(screen.queryByRole('button', { name: /^Copy command/ })).toBeNull();
    expect(document.querySelectorAll('pre')).toHaveLength(0);
  });

  it('checks the fields before sending, with each message under its field and the first one focused', async () => {
    const client = fakeClient();
    await show(client);
    await pick('Google Cloud project');

    await type('Project ID', 'Shop_Prod');
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    const projectId = screen.getByLabelText('Project ID');
    expect(projectId.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('gcp-project-id-error')?.textContent?.trim()).toBe(
      'Must be a Google Cloud project id: 6-30 lower-case letters, digits or hyphens, starting with a letter',
    );
    expect(document.getElementById('gcp-project-number-error')?.textContent?.trim()).toBe(
      'Enter the project number: the PROJECT_NUMBER column of gcloud projects list.',
    );
    expect(screen.getByLabelText('Project number').getAttribute('aria-describedby')).toBe('gcp-project-number-error gcp-project-number-hint');
    await vi.waitFor(() => expect(document.activeElement).toBe(projectId));
    expect(client.connectAccount).not.toHaveBeenCalled();
    expect(await seriousViolations()).toEqual([]);
  });

  it('posts the project, shows what CloudSeed could not do under its field, and lists the project once it is connected', async () => {
    const client = fakeClient(awsList(awsAccount()));
    client.connectAccount.mockRejectedValueOnce(
      new ApiError(400, 'Bad Request', 'CloudSeed could not deploy to project shop-prod-4821 with its connection; see errors.', [
        { path: '/projectNumber', message: 'CloudSeed cannot sign in through the pool cloudseed of project 482913004512' },
      ]),
    );
    await show(client);
    await pick('Google Cloud project');
    await type('Project ID', GCP_PROJECT.projectId);
    await type('Project number', GCP_PROJECT.projectNumber);
    await type('Name', 'analytics');
    await fireEvent.change(screen.getByLabelText('Region'), { target: { value: 'europe-west1' } });

    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ cloud: 'gcp', ...GCP_PROJECT, name: 'analytics', region: 'europe-west1' });
    await screen.findByText('CloudSeed cannot sign in through the pool cloudseed of project 482913004512');
    const projectNumber = screen.getByLabelText('Project number');
    expect(projectNumber.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('gcp-project-number-error')?.textContent?.trim()).toBe(
      'CloudSeed cannot sign in through the pool cloudseed of project 482913004512',
    );
    expect(screen.getByLabelText('Project ID').getAttribute('aria-invalid')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(document.activeElement).toBe(projectNumber);

    client.accountList.mockResolvedValue(awsList(awsAccount(), gcpAccount({ id: 'c0ffee00-0000-4000-8000-000000000003' })));
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    expect(await screen.findByText('Connected analytics (Google Cloud project shop-prod-4821).')).toBeTruthy();
    expect(cellsOf(rowOf('analytics'))).toEqual(['Google Cloud', expect.any(String), 'europe-west1', expect.stringMatching(/2026/), 'Remove']);
    expect(whereOf(rowOf('analytics'))).toEqual([
      ['Project', 'shop-prod-4821'],
      ['Number', '482913004512'],
    ]);
    expect(screen.getByLabelText<HTMLInputElement>('Project ID').value).toBe('');
  });

  it('shows a refusal about no field, such as the local cloud’s, in an alert above the button', async () => {
    const client = fakeClient(localList());
    client.connectAccount.mockRejectedValue(new ApiError(409, 'Conflict', 'The local cloud cannot reach Google Cloud.'));
    await show(client, 'local');
    await pick('Google Cloud project');
    await type('Project ID', GCP_PROJECT.projectId);
    await type('Project number', GCP_PROJECT.projectNumber);

    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent?.trim()).toBe('The local cloud cannot reach Google Cloud.');
    expect(alert.compareDocumentPosition(screen.getByRole('button', { name: 'Verify and connect' })) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });
});

describe('connecting an Azure resource group', () => {
  it('shows the az commands once the group is valid, for the region picked, each with a button that copies it', async () => {
    const writeText = fakeClipboard();
    await show(fakeClient(awsList()));
    await pick('Azure resource group');

    await type('Tenant ID', AZURE_GROUP.tenantId);
    await type('Subscription ID', AZURE_GROUP.subscriptionId);
    expect(await screen.findByText('The commands appear here once the tenant ID, subscription ID and resource group are valid.')).toBeTruthy();
    await type('Resource group', AZURE_GROUP.resourceGroup);
    await fireEvent.change(screen.getByLabelText('Region'), { target: { value: 'westeurope' } });

    const expected = azureConnectCommands(AZURE_GROUP, FEDERATION.azureAppId ?? '', 'westeurope');
    const list = await screen.findByRole('list', { name: 'az commands' });
    expect(commandsIn(list)).toEqual(expected.map((step) => [step.summary, step.command]));
    expect(commandsIn(list)[0]).toEqual([
      "Consent to CloudSeed's app in your tenant (this creates its service principal).",
      'az ad sp create --id 7d3f1c2a-9b4e-4f60-8a1d-2c5e6f708192',
    ]);

    await fireEvent.click(within(list).getByRole('button', { name: 'Copy command 4' }));
    expect(writeText.mock.calls).toEqual([[expected[3]?.command]]);
    expect(writeText.mock.calls[0]?.[0]).toContain(
      `--scope /subscriptions/${AZURE_GROUP.subscriptionId}/resourceGroups/shop-prod && az role assignment create`,
    );

    await type('Resource group', 'shop prod.');
    expect(screen.queryByRole('list', { name: 'az commands' })).toBeNull();
    expect(await seriousViolations()).toEqual([]);
  });

  it('offers no commands where the platform has no Azure app, or does not run on AWS, and says which', async () => {
    const noApp = fakeClient({ ...awsList(), federation: { awsAccountId: FEDERATION.awsAccountId, roleName: FEDERATION.roleName } });
    await show(noApp);
    await pick('Azure resource group');
    await type('Tenant ID', AZURE_GROUP.tenantId);
    await type('Subscription ID', AZURE_GROUP.subscriptionId);
    await type('Resource group', AZURE_GROUP.resourceGroup);

    expect(
      screen.getByText(
        'Connecting an Azure resource group needs the Azure app your tenant consents to, and this CloudSeed has none configured. Its operator sets one up first.',
      ),
    ).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'az commands' })).toBeNull();
    expect(document.querySelectorAll('pre')).toHaveLength(0);
  });

  it('says that connecting Azure needs CloudSeed on AWS in the local cloud', async () => {
    await show(fakeClient(localList()), 'local');
    await pick('Azure resource group');

    expect(screen.getByText(/^Connecting an Azure resource group needs CloudSeed running on AWS/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /^Copy command/ })).toBeNull();
  });

  it('checks the fields before sending, and posts the group with its server field errors under their fields', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(400, 'Bad Request', 'CloudSeed could not deploy to resource group shop-prod with its connection; see errors.', [
        { path: '/tenantId', message: 'CloudSeed cannot sign in to this tenant: consent to its app with az ad sp create' },
        { path: '/resourceGroup', message: 'the app lacks Microsoft.Compute/virtualMachines/write on the group' },
      ]),
    );
    await show(client);
    await pick('Azure resource group');

    await type('Tenant ID', 'contoso.onmicrosoft.com');
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));
    expect(document.getElementById('azure-tenant-id-error')?.textContent?.trim()).toBe('Must be your Entra tenant id (a GUID in lower case)');
    expect(document.getElementById('azure-subscription-id-error')?.textContent?.trim()).toBe(
      'Enter the subscription id: az account show --query id prints it.',
    );
    expect(document.getElementById('azure-resource-group-error')?.textContent?.trim()).toBe(
      'Enter the resource group plans deploy into; the commands create it.',
    );
    expect(client.connectAccount).not.toHaveBeenCalled();

    await type('Tenant ID', AZURE_GROUP.tenantId);
    await type('Subscription ID', AZURE_GROUP.subscriptionId);
    await type('Resource group', AZURE_GROUP.resourceGroup);
    expect(screen.getByLabelText('Tenant ID').getAttribute('aria-invalid')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Verify and connect' }));

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ cloud: 'azure', ...AZURE_GROUP, region: 'eastus' });
    await screen.findByText('CloudSeed cannot sign in to this tenant: consent to its app with az ad sp create');
    expect(screen.getByLabelText('Tenant ID').getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('azure-resource-group-error')?.textContent?.trim()).toBe(
      'The app lacks Microsoft.Compute/virtualMachines/write on the group',
    );
    expect(screen.getByLabelText('Subscription ID').getAttribute('aria-invalid')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('the accounts of every cloud', () => {
  it('lists each with its cloud, what identifies it there, its region and when it was connected and verified', async () => {
    await show(fakeClient(localList(awsAccount(), gcpAccount(), azureAccount())), 'local');

    expect(screen.getAllByRole('columnheader').map((header) => header.textContent?.trim())).toEqual([
      'Name',
      'Cloud',
      'Where',
      'Region',
      'Connected',
      'Actions',
    ]);
    expect(cellsOf(rowOf('This machine \\(local cloud\\)'))).toEqual(['This machine', '—', '—', 'Built in', '']);
    expect(cellsOf(rowOf('production')).slice(0, 3)).toEqual(['AWS', expect.any(String), 'eu-west-1']);
    expect(whereOf(rowOf('production'))).toEqual([
      ['Account', '123456789012'],
      ['Role', ROLE_ARN],
    ]);
    expect(cellsOf(rowOf('analytics')).slice(0, 3)).toEqual(['Google Cloud', expect.any(String), 'europe-west1']);
    expect(whereOf(rowOf('analytics'))).toEqual([
      ['Project', 'shop-prod-4821'],
      ['Number', '482913004512'],
    ]);
    expect(cellsOf(rowOf('billing')).slice(0, 3)).toEqual(['Azure', expect.any(String), 'westeurope']);
    expect(whereOf(rowOf('billing'))).toEqual([
      ['Resource group', 'shop-prod'],
      ['Subscription', AZURE_GROUP.subscriptionId],
      ['Tenant', AZURE_GROUP.tenantId],
    ]);
    // Verified after it was connected: both times.
    const analytics = within(rowOf('analytics')).getAllByRole('cell')[3]?.querySelectorAll('time');
    expect([...(analytics ?? [])].map((time) => time.getAttribute('datetime'))).toEqual(['2026-11-21T10:00:00.000Z', '2026-11-22T08:30:00.000Z']);
    expect(rowOf('billing').querySelectorAll('time')).toHaveLength(1);
    expect(await seriousViolations()).toEqual([]);
  });

  it('removes a project or a resource group as it removes an AWS account, saying what stays behind', async () => {
    const client = fakeClient(awsList(gcpAccount(), azureAccount()));
    await show(client);

    await fireEvent.click(within(rowOf('analytics')).getByRole('button', { name: 'Remove analytics' }));
    let dialog = await screen.findByRole('dialog', { name: 'Remove analytics?' });
    expect(dialog.textContent).toContain('CloudSeed stops acting as its service account in Google Cloud project shop-prod-4821.');
    expect(dialog.textContent).toContain('the Workload Identity pool, the service account and its role stay until you delete them');
    client.accountList.mockResolvedValue(awsList(azureAccount()));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove account' }));
    expect(await screen.findByText('Removed analytics.')).toBeTruthy();
    expect(client.deleteAccount).toHaveBeenLastCalledWith(gcpAccount().id);

    await fireEvent.click(within(rowOf('billing')).getByRole('button', { name: 'Remove billing' }));
    dialog = await screen.findByRole('dialog', { name: 'Remove billing?' });
    expect(dialog.textContent).toContain(`CloudSeed stops signing in to resource group shop-prod of subscription ${AZURE_GROUP.subscriptionId}.`);
    client.accountList.mockResolvedValue(awsList());
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove account' }));
    expect(await screen.findByText('Removed billing.')).toBeTruthy();
    expect(client.deleteAccount).toHaveBeenLastCalledWith(azureAccount().id);
    expect(screen.getByText(/No accounts connected yet/)).toBeTruthy();
  });
});
