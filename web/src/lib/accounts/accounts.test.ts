import { DENIED_MESSAGE } from '@cloudseed/shared/accounts/accounts';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, SignedOut } from '../api/client.ts';
import { Accounts, ConnectAccountForm, describeAccount } from './accounts.svelte.ts';
import { launchUrlIn, readDetail } from './launch-link.ts';
import { awsAccount, awsList, fakeClient, LAUNCH_STACK_URL, LOCAL, localList, ROLE_ARN } from './test-fakes.ts';

describe('an account as a table row', () => {
  it('names the local cloud’s built-in account for what it is, and marks it as not removable', () => {
    expect(describeAccount(LOCAL)).toMatchObject({ id: 'local', name: 'This machine (local cloud)', local: true, awsAccountId: undefined });
  });

  it('shows a connected account’s AWS id, region and connection time, and a later verification only when there was one', () => {
    expect(describeAccount(awsAccount())).toMatchObject({
      name: 'production',
      local: false,
      awsAccountId: '123456789012',
      region: 'eu-west-1',
      connectedAt: '2026-11-20T10:00:00.000Z',
      verifiedAt: undefined,
    });
    expect(describeAccount(awsAccount({ verifiedAt: '2026-11-21T08:00:00.000Z' })).verifiedAt).toBe('2026-11-21T08:00:00.000Z');
  });
});

describe('the launch link', () => {
  it('opens the console in the region picked, keeping the template and both parameters', () => {
    const url = new URL(launchUrlIn(LAUNCH_STACK_URL, 'eu-central-1'));

    expect(url.origin + url.pathname).toBe('https://console.aws.amazon.com/cloudformation/home');
    expect(url.searchParams.get('region')).toBe('eu-central-1');
    expect(url.hash).toBe(new URL(LAUNCH_STACK_URL).hash);
  });

  it('leaves anything that is not such a link as it is', () => {
    expect(launchUrlIn('not a url', 'eu-central-1')).toBe('not a url');
    expect(launchUrlIn('https://example.com/launch', 'eu-central-1')).toBe('https://example.com/launch');
  });
});

describe('a refusal’s detail', () => {
  it('takes the launch link out of the text and drops the pointer to the field errors', () => {
    const detail = `CloudSeed could not assume the role; see errors. To create it, launch the CloudSeed template in eu-west-1: ${LAUNCH_STACK_URL}`;

    expect(readDetail(detail)).toEqual({
      text: 'CloudSeed could not assume the role. To create it, launch the CloudSeed template in eu-west-1.',
      link: LAUNCH_STACK_URL,
    });
    expect(readDetail('This role is connected already.')).toEqual({ text: 'This role is connected already.' });
  });
});

describe('connecting an account', () => {
  it('checks the role ARN with the server’s rules before sending anything', async () => {
    const client = fakeClient();
    const form = new ConnectAccountForm(client);

    expect(await form.submit()).toBeUndefined();
    expect(form.errors.roleArn).toBe('Enter the role ARN: the RoleArn output of the CloudSeed stack.');

    form.roleArn = 'arn:aws:iam::1234:role/CloudSeedDeployer';
    form.edited('roleArn');
    expect(form.errors.roleArn).toBe('Must be an IAM role ARN such as arn:aws:iam::123456789012:role/CloudSeedDeployer');

    form.roleArn = 'arn:aws:iam::123456789012:role/OrganizationAccountAccessRole';
    form.edited('roleArn');
    expect(form.errors.roleArn).toMatch(/^Must be the role the CloudSeed template created/);

    form.name = '-bad-';
    expect(await form.submit()).toBeUndefined();
    expect(form.errors.name).toMatch(/^Must be 1-63 letters/);
    expect(client.connectAccount).not.toHaveBeenCalled();
  });

  it('sends the trimmed role, the region, and the name only when one was given', async () => {
    const client = fakeClient();
    const form = new ConnectAccountForm(client);
    form.roleArn = `  ${ROLE_ARN} `;
    form.region = 'eu-west-1';

    const account = await form.submit();

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ roleArn: ROLE_ARN, region: 'eu-west-1' });
    expect(account?.roleArn).toBe(ROLE_ARN);
    expect(form.roleArn).toBe('');
    expect(form.region).toBe('eu-west-1');
    expect(form.errors).toEqual({});
  });

  it('puts each of a 400’s field problems under its field, with no alert when that says it all', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(400, 'Bad Request', 'The account connection is not valid; see errors for each field.', [
        { path: '/name', message: 'must be 1-63 letters, digits, spaces, dots, underscores or hyphens' },
        { path: '/region', message: 'must be an AWS region code such as us-east-1' },
      ]),
    );
    const form = new ConnectAccountForm(client);
    form.roleArn = ROLE_ARN;

    await form.submit();

    expect(form.errors).toEqual({
      name: 'Must be 1-63 letters, digits, spaces, dots, underscores or hyphens',
      region: 'Must be an AWS region code such as us-east-1',
    });
    expect(form.problem).toBeUndefined();
  });

  it('shows a role CloudSeed could not assume under the role ARN, and the launch link the answer gave in the alert', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(
        400,
        'Bad Request',
        `CloudSeed could not assume the role; see errors. To create it, launch the CloudSeed template in eu-west-1: ${LAUNCH_STACK_URL}`,
        [{ path: '/roleArn', message: DENIED_MESSAGE }],
      ),
    );
    const form = new ConnectAccountForm(client);
    form.roleArn = ROLE_ARN;

    await form.submit();

    expect(form.errors).toEqual({ roleArn: DENIED_MESSAGE });
    expect(form.problem).toEqual({
      text: 'CloudSeed could not assume the role. To create it, launch the CloudSeed template in eu-west-1.',
      link: LAUNCH_STACK_URL,
    });
  });

  it('shows a refusal about no field in the alert, e.g. the local cloud’s', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(
        409,
        'Conflict',
        'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.',
      ),
    );
    const form = new ConnectAccountForm(client);
    form.roleArn = ROLE_ARN;

    await form.submit();

    expect(form.errors).toEqual({});
    expect(form.problem?.text).toBe(
      'The local cloud cannot reach AWS; connect AWS accounts in CloudSeed on AWS. Plans here deploy to the built-in local account.',
    );
    expect(form.pending).toBe(false);
  });

  it('hands over to log in when the session has ended', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(new SignedOut('Your session has ended. Log in again.'));
    const onSignedOut = vi.fn();
    const accounts = new Accounts(client, { onSignedOut });
    accounts.form.roleArn = ROLE_ARN;

    await accounts.connect();

    expect(onSignedOut).toHaveBeenCalledOnce();
    expect(accounts.form.problem).toBeUndefined();
  });

  it('lists the new account at once, says so, and reloads the list', async () => {
    const client = fakeClient(awsList());
    const accounts = new Accounts(client);
    await accounts.refresh();
    // The reload has not answered yet: the account shows all the same.
    client.accountList.mockReturnValue(new Promise(() => undefined));
    accounts.form.roleArn = ROLE_ARN;
    accounts.form.name = 'production';

    await accounts.connect();

    expect(accounts.awsRows.map((row) => row.name)).toEqual(['production']);
    expect(accounts.notice).toEqual({ about: 'connect', text: 'Connected production (AWS account 123456789012).' });
    expect(client.accountList).toHaveBeenCalledTimes(2);
  });
});

describe('the list of accounts', () => {
  it('lists what the API answers, the built-in local account first', async () => {
    const accounts = new Accounts(fakeClient(localList(awsAccount())));
    expect(accounts.loaded).toBe(false);

    await accounts.refresh();

    expect(accounts.loaded).toBe(true);
    expect(accounts.rows.map((row) => [row.name, row.local])).toEqual([
      ['This machine (local cloud)', true],
      ['production', false],
    ]);
    expect(accounts.launchUrl).toBeUndefined();
  });

  it('gives the launch link for the region picked in the form', async () => {
    const accounts = new Accounts(fakeClient(awsList()));
    await accounts.refresh();

    accounts.form.region = 'ap-southeast-2';

    expect(new URL(accounts.launchUrl ?? '').searchParams.get('region')).toBe('ap-southeast-2');
  });

  it('says why the list could not be loaded, and recovers', async () => {
    const client = fakeClient(awsList());
    client.accountList.mockRejectedValueOnce(new ApiError(503, 'Service Unavailable', 'The accounts table is not reachable.'));
    const accounts = new Accounts(client);

    await accounts.refresh();
    expect(accounts.error).toBe('Your AWS accounts could not be loaded: The accounts table is not reachable.');

    await accounts.refresh();
    expect(accounts.error).toBeUndefined();
    expect(accounts.loaded).toBe(true);
  });
});

describe('removing an account', () => {
  it('asks first and removes only on confirm; the built-in account is never asked about', async () => {
    const client = fakeClient(localList(awsAccount()));
    const accounts = new Accounts(client);
    await accounts.refresh();
    const [local, production] = accounts.rows;
    if (!local || !production) throw new Error('two rows expected');

    accounts.askToRemove(local);
    expect(accounts.confirming).toBe(false);

    accounts.askToRemove(production);
    expect(accounts.confirming).toBe(true);
    expect(client.deleteAccount).not.toHaveBeenCalled();

    expect(await accounts.remove()).toBe(true);
    expect(client.deleteAccount).toHaveBeenCalledExactlyOnceWith(production.id);
    expect(accounts.confirming).toBe(false);
    expect(accounts.rows.map((row) => row.id)).toEqual(['local']);
    expect(accounts.notice).toEqual({ about: 'remove', text: 'Removed production.' });
  });

  it('keeps the dialog open with the reason when the API refuses (409)', async () => {
    const client = fakeClient(awsList(awsAccount()));
    client.deleteAccount.mockRejectedValue(
      new ApiError(
        409,
        'Conflict',
        'Deployed plans run in this account (orders); delete them, or wait for their teardown to finish, before removing it.',
      ),
    );
    const accounts = new Accounts(client);
    await accounts.refresh();
    const [row] = accounts.rows;
    if (!row) throw new Error('a row expected');

    accounts.askToRemove(row);
    expect(await accounts.remove()).toBe(false);

    expect(accounts.confirming).toBe(true);
    expect(accounts.removeError).toBe(
      'production was not removed: Deployed plans run in this account (orders); delete them, or wait for their teardown to finish, before removing it.',
    );
    expect(accounts.rows).toHaveLength(1);

    accounts.cancelRemove();
    expect(accounts.removeError).toBeUndefined();
  });

  it('takes an account that is gone already (404) as removed', async () => {
    const client = fakeClient(awsList(awsAccount()));
    client.deleteAccount.mockRejectedValue(new ApiError(404, 'Not Found', 'There is no account.'));
    const accounts = new Accounts(client);
    await accounts.refresh();
    const [row] = accounts.rows;
    if (!row) throw new Error('a row expected');

    accounts.askToRemove(row);

    expect(await accounts.remove()).toBe(true);
    expect(accounts.removeError).toBeUndefined();
  });
});
