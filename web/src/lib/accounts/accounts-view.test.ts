import { DENIED_MESSAGE } from '@cloudseed/shared/accounts/accounts';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../api/client.ts';
import { fakeClipboard, polyfillDialog } from '../deployment/test-fakes.ts';
import AccountsView from './accounts-view.svelte';
import { Accounts } from './accounts.svelte.ts';
import { awsAccount, awsList, EXTERNAL_ID, fakeClient, LAUNCH_STACK_URL, localList, PLATFORM_ACCOUNT_ID, ROLE_ARN } from './test-fakes.ts';

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

async function connect(roleArn: string, fields: { name?: string; region?: string } = {}) {
  await fireEvent.input(screen.getByLabelText('Role ARN'), { target: { value: roleArn } });
  if (fields.name !== undefined) await fireEvent.input(screen.getByLabelText('Name'), { target: { value: fields.name } });
  if (fields.region !== undefined) await fireEvent.change(screen.getByLabelText('Region'), { target: { value: fields.region } });
  await fireEvent.click(screen.getByRole('button', { name: 'Connect account' }));
}

describe('the AWS accounts page', () => {
  it('lists the local cloud’s built-in account without Remove, and says that connecting needs CloudSeed on AWS', async () => {
    await show(fakeClient(localList(awsAccount())), 'local');

    expect(screen.getByRole('heading', { level: 1, name: 'AWS accounts' })).toBeTruthy();
    expect(screen.getByRole('note').textContent).toMatch(/plans deploy to this machine.*npm run deploy.*refuses every connection here/s);
    const local = rowOf('This machine \\(local cloud\\)');
    expect(within(local).queryByRole('button')).toBeNull();
    const production = rowOf('production');
    expect(
      within(production)
        .getAllByRole('cell')
        .map((cell) => cell.textContent?.trim()),
    ).toEqual(['123456789012', 'eu-west-1', expect.stringMatching(/2026/), 'Remove']);
    expect(within(production).getByText(ROLE_ARN)).toBeTruthy();
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
    expect(screen.getByText(/No AWS accounts connected yet/)).toBeTruthy();
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
