import { DENIED_MESSAGE } from '@cloudseed/shared/accounts/accounts';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, SignedOut } from '../api/client.ts';
import {
  Accounts,
  AZURE_NEEDS_AWS,
  ConnectAccountForm,
  ConnectAzureForm,
  ConnectGcpForm,
  describeAccount,
  GCP_NEEDS_AWS,
  NO_AZURE_APP,
} from './accounts.svelte.ts';
import { launchUrlIn, readDetail } from './launch-link.ts';
import {
  awsAccount,
  awsList,
  AZURE_GROUP,
  azureAccount,
  FEDERATION,
  fakeClient,
  GCP_PROJECT,
  gcpAccount,
  LAUNCH_STACK_URL,
  LOCAL,
  localList,
  ROLE_ARN,
} from './test-fakes.ts';

// The az commands take only the backup group's name from the Azure document renderer, whose node
// scripts are read from files when it loads, which cannot happen in the page.

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

  it('names each account’s cloud, and carries what identifies a project and a resource group there', () => {
    expect(describeAccount(LOCAL).cloudName).toBe('This machine');
    expect(describeAccount(awsAccount()).cloudName).toBe('AWS');
    expect(describeAccount(gcpAccount())).toMatchObject({
      kind: 'gcp',
      cloudName: 'Google Cloud',
      projectId: 'shop-prod-4821',
      projectNumber: '482913004512',
      region: 'europe-west1',
      verifiedAt: '2026-11-22T08:30:00.000Z',
    });
    expect(describeAccount(azureAccount())).toMatchObject({
      kind: 'azure',
      cloudName: 'Azure',
      tenantId: AZURE_GROUP.tenantId,
      subscriptionId: AZURE_GROUP.subscriptionId,
      resourceGroup: 'shop-prod',
      region: 'westeurope',
    });
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

    expect(accounts.connectedRows.map((row) => row.name)).toEqual(['production']);
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
    expect(accounts.error).toBe('Your accounts could not be loaded: The accounts table is not reachable.');

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

describe('connecting a Google Cloud project', () => {
  it('asks for the project id and number, and checks them with the server’s rules before sending anything', async () => {
    const client = fakeClient();
    const form = new ConnectGcpForm(client);

    expect(await form.submit()).toBeUndefined();
    expect(form.errors).toEqual({
      projectId: 'Enter the project id: the PROJECT_ID column of gcloud projects list.',
      projectNumber: 'Enter the project number: the PROJECT_NUMBER column of gcloud projects list.',
    });

    form.projectId = 'Shop_Prod';
    form.edited('projectId');
    expect(form.errors.projectId).toBe('Must be a Google Cloud project id: 6-30 lower-case letters, digits or hyphens, starting with a letter');

    form.projectNumber = '0123';
    form.edited('projectNumber');
    expect(form.errors.projectNumber).toBe('Must be the project number: 6-19 digits, as `gcloud projects describe` prints it');

    form.projectId = GCP_PROJECT.projectId;
    form.edited('projectId');
    expect(form.errors.projectId).toBeUndefined();
    expect(form.connection).toBeUndefined();
    expect(client.connectAccount).not.toHaveBeenCalled();
  });

  it('sends the project, trimmed, with cloud gcp and the region, and the name only when one was given', async () => {
    const client = fakeClient();
    const form = new ConnectGcpForm(client);
    form.projectId = ` ${GCP_PROJECT.projectId} `;
    form.projectNumber = `${GCP_PROJECT.projectNumber} `;
    form.region = 'europe-west1';
    expect(form.connection).toEqual(GCP_PROJECT);

    const account = await form.submit();

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ cloud: 'gcp', ...GCP_PROJECT, region: 'europe-west1' });
    expect(account?.projectId).toBe(GCP_PROJECT.projectId);
    expect([form.projectId, form.projectNumber, form.region]).toEqual(['', '', 'europe-west1']);

    form.projectId = GCP_PROJECT.projectId;
    form.projectNumber = GCP_PROJECT.projectNumber;
    form.name = 'analytics';
    await form.submit();
    expect(client.connectAccount).toHaveBeenLastCalledWith({ cloud: 'gcp', ...GCP_PROJECT, region: 'europe-west1', name: 'analytics' });
  });

  it('puts what CloudSeed could not do in the project under the field it is about', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(400, 'Bad Request', 'CloudSeed could not deploy to project shop-prod-4821 with its connection; see errors.', [
        { path: '/projectNumber', message: 'CloudSeed cannot sign in through the pool cloudseed of project 482913004512' },
        { path: '/projectId', message: 'the deployer lacks compute.instances.create, compute.disks.create' },
      ]),
    );
    const form = new ConnectGcpForm(client);
    form.projectId = GCP_PROJECT.projectId;
    form.projectNumber = GCP_PROJECT.projectNumber;

    await form.submit();

    expect(form.errors).toEqual({
      projectNumber: 'CloudSeed cannot sign in through the pool cloudseed of project 482913004512',
      projectId: 'The deployer lacks compute.instances.create, compute.disks.create',
    });
    expect(form.problem).toBeUndefined();
  });

  it('shows the local cloud’s refusal in the alert', async () => {
    const client = fakeClient(localList());
    client.connectAccount.mockRejectedValue(new ApiError(409, 'Conflict', 'The local cloud cannot reach Google Cloud.'));
    const form = new ConnectGcpForm(client);
    form.projectId = GCP_PROJECT.projectId;
    form.projectNumber = GCP_PROJECT.projectNumber;

    await form.submit();

    expect(form.errors).toEqual({});
    expect(form.problem).toEqual({ text: 'The local cloud cannot reach Google Cloud.' });
  });
});

describe('connecting an Azure resource group', () => {
  it('asks for the tenant, the subscription and the group, and checks them with the server’s rules', async () => {
    const client = fakeClient();
    const form = new ConnectAzureForm(client);

    expect(await form.submit()).toBeUndefined();
    expect(form.errors).toEqual({
      tenantId: 'Enter your tenant id: az account show --query tenantId prints it.',
      subscriptionId: 'Enter the subscription id: az account show --query id prints it.',
      resourceGroup: 'Enter the resource group plans deploy into; the commands create it.',
    });

    form.tenantId = 'contoso.onmicrosoft.com';
    form.subscriptionId = '9c8b7a65-4321';
    form.resourceGroup = 'shop prod.';
    expect(await form.submit()).toBeUndefined();
    expect(form.errors).toEqual({
      tenantId: 'Must be your Entra tenant id (a GUID in lower case)',
      subscriptionId: 'Must be an Azure subscription id (a GUID in lower case)',
      resourceGroup: "Must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
    });
    expect(client.connectAccount).not.toHaveBeenCalled();
  });

  it('sends the group with cloud azure, its ids in lower case as az prints them, and the region', async () => {
    const client = fakeClient();
    const form = new ConnectAzureForm(client);
    form.tenantId = AZURE_GROUP.tenantId.toUpperCase();
    form.subscriptionId = ` ${AZURE_GROUP.subscriptionId}`;
    form.resourceGroup = 'shop-prod ';
    form.region = 'westeurope';
    form.name = 'billing';

    await form.submit();

    expect(client.connectAccount).toHaveBeenCalledExactlyOnceWith({ cloud: 'azure', ...AZURE_GROUP, region: 'westeurope', name: 'billing' });
    // The tenant stays for the next group; what named this one is cleared.
    expect([form.tenantId, form.subscriptionId, form.resourceGroup, form.name]).toEqual([AZURE_GROUP.tenantId.toUpperCase(), '', '', '']);
  });

  it('puts what CloudSeed could not do in the group under the field it is about, and the rest in the alert', async () => {
    const client = fakeClient();
    client.connectAccount.mockRejectedValue(
      new ApiError(400, 'Bad Request', 'CloudSeed could not deploy to resource group shop-prod with its connection; see errors.', [
        { path: '/resourceGroup', message: 'the app lacks Microsoft.Compute/virtualMachines/write on the group' },
        { path: '/backupGroup', message: 'the app has no role on cloudseed-backups' },
      ]),
    );
    const form = new ConnectAzureForm(client);
    Object.assign(form, AZURE_GROUP);

    await form.submit();

    expect(form.errors).toEqual({ resourceGroup: 'The app lacks Microsoft.Compute/virtualMachines/write on the group' });
    expect(form.problem).toEqual({
      text: 'CloudSeed could not deploy to resource group shop-prod with its connection.',
      details: ['/backupGroup: the app has no role on cloudseed-backups'],
    });
  });
});

describe('the commands that connect a project or a resource group', () => {
  it('are the gcloud commands for the project and the platform’s role, once the project id and number are valid', async () => {
    const accounts = new Accounts(fakeClient(awsList()));
    await accounts.refresh();
    expect(accounts.gcpSetup).toEqual({ state: 'waiting' });

    accounts.gcpForm.projectId = GCP_PROJECT.projectId;
    accounts.gcpForm.projectNumber = '12';
    expect(accounts.gcpSetup).toEqual({ state: 'waiting' });

    accounts.gcpForm.projectNumber = GCP_PROJECT.projectNumber;
    const setup = accounts.gcpSetup;
    if (setup.state !== 'ready') throw new Error(`commands expected, not ${setup.state}`);
    expect(setup.steps).toHaveLength(7);
    expect(setup.steps[0]?.command).toMatch(/^gcloud services enable compute\.googleapis\.com .* --project=shop-prod-4821$/);
    expect(setup.steps[2]?.command).toContain(
      `--account-id=111122223333 --attribute-condition="attribute.aws_role == 'arn:aws:sts::111122223333:assumed-role/CloudSeedCloudFederation'"`,
    );
    expect(setup.steps[5]?.command).toContain(
      'principalSet://iam.googleapis.com/projects/482913004512/locations/global/workloadIdentityPools/cloudseed/',
    );
    // Download links are signed by the deployer account as itself.
    expect(setup.steps[6]?.command).toContain(
      '--role=roles/iam.serviceAccountTokenCreator --member=serviceAccount:cloudseed-deployer@shop-prod-4821',
    );
  });

  it('are the az commands for the group, the platform’s app and the region, once the group is valid', async () => {
    const accounts = new Accounts(fakeClient(awsList()));
    await accounts.refresh();
    accounts.cloud = 'azure';
    Object.assign(accounts.azureForm, AZURE_GROUP, { region: 'westeurope' });
    await vi.waitFor(() => expect(accounts.azureSetup.state).toBe('ready'));

    const setup = accounts.azureSetup;
    if (setup.state !== 'ready') throw new Error('commands expected');
    expect(setup.steps.map((step) => step.command.split(' --')[0])).toEqual([
      `az ad sp create`,
      'az group create',
      'az role definition create',
      'az role assignment create',
    ]);
    expect(setup.steps[0]?.command).toBe(`az ad sp create --id ${FEDERATION.azureAppId}`);
    expect(setup.steps[1]?.command).toBe(
      `az group create --subscription ${AZURE_GROUP.subscriptionId} --name shop-prod --location westeurope && ` +
        `az group create --subscription ${AZURE_GROUP.subscriptionId} --name cloudseed-backups --location westeurope`,
    );

    accounts.azureForm.resourceGroup = 'shop prod.';
    expect(accounts.azureSetup).toEqual({ state: 'waiting' });
  });

  it('are not offered where the platform has no identity to Google Cloud and Azure, or no Azure app', async () => {
    const local = new Accounts(fakeClient(localList()));
    await local.refresh();
    Object.assign(local.gcpForm, GCP_PROJECT);
    Object.assign(local.azureForm, AZURE_GROUP);
    local.cloud = 'azure';

    expect(local.gcpSetup).toEqual({ state: 'unavailable', reason: GCP_NEEDS_AWS });
    expect(local.azureSetup).toEqual({ state: 'unavailable', reason: AZURE_NEEDS_AWS });
    expect(GCP_NEEDS_AWS).toMatch(/^Connecting a Google Cloud project needs CloudSeed running on AWS/);

    const noApp = new Accounts(fakeClient({ ...awsList(), federation: { awsAccountId: FEDERATION.awsAccountId, roleName: FEDERATION.roleName } }));
    await noApp.refresh();
    Object.assign(noApp.azureForm, AZURE_GROUP);
    noApp.cloud = 'azure';

    expect(noApp.azureSetup).toEqual({ state: 'unavailable', reason: NO_AZURE_APP });
  });
});

describe('connecting from the page', () => {
  it('connects with the form of the cloud picked, and names what was connected', async () => {
    const client = fakeClient(awsList());
    const accounts = new Accounts(client);
    await accounts.refresh();
    // The reloads do not answer: the list shows what was connected all the same.
    client.accountList.mockReturnValue(new Promise(() => undefined));
    accounts.form.roleArn = ROLE_ARN;
    Object.assign(accounts.gcpForm, GCP_PROJECT);
    Object.assign(accounts.azureForm, AZURE_GROUP);

    accounts.cloud = 'gcp';
    await accounts.connect();
    expect(client.connectAccount).toHaveBeenLastCalledWith({ cloud: 'gcp', ...GCP_PROJECT, region: 'us-central1' });
    expect(accounts.notice?.text).toBe('Connected Google Cloud shop-prod-4821 (Google Cloud project shop-prod-4821).');

    accounts.cloud = 'azure';
    await accounts.connect();
    expect(client.connectAccount).toHaveBeenLastCalledWith({ cloud: 'azure', ...AZURE_GROUP, region: 'eastus' });
    expect(accounts.notice?.text).toBe('Connected Azure shop-prod (Azure resource group shop-prod).');

    expect(accounts.connectedRows.map((row) => [row.cloudName, row.name])).toEqual([
      ['Google Cloud', 'Google Cloud shop-prod-4821'],
      ['Azure', 'Azure shop-prod'],
    ]);
    // The AWS form was not touched.
    expect(accounts.form.roleArn).toBe(ROLE_ARN);
    expect(client.connectAccount).toHaveBeenCalledTimes(2);
  });
});
