import {
  CLOUD_NAMES,
  connectAwsAccountSchema,
  connectAzureAccountSchema,
  connectGcpAccountSchema,
  LOCAL_ACCOUNT_ID,
  type AccountCloud,
  type ConnectAwsAccountInput,
  type ConnectAzureAccountInput,
  type ConnectGcpAccountInput,
} from '@cloudseed/shared/accounts/accounts';
import { DEFAULT_AWS_REGION, DEFAULT_AZURE_REGION, DEFAULT_GCP_REGION } from '@cloudseed/shared/cs-json/schema';
import type { AzureConnection, azureConnectCommands } from '@cloudseed/shared/targets/azure/connection';
import { gcpConnectCommands, type GcpConnection, type SetupStep } from '@cloudseed/shared/targets/gcp/connection';
import { ApiError, SignedOut } from '../api/client.ts';
import type { Account, AccountList, ConnectAccountInput } from '../api/types.ts';
import { launchUrlIn, readDetail, type FormProblem } from './launch-link.ts';

// The accounts page: the connected accounts, the forms that connect an AWS account, a Google Cloud
// project or an Azure resource group, and removing one. The API is reached through
// `AccountsClient`, so tests drive the page with a fake.

export interface AccountsClient {
  accountList(): Promise<AccountList>;
  connectAccount(input: ConnectAccountInput): Promise<Account>;
  deleteAccount(id: string): Promise<void>;
}

/** What the table shows of an account. */
export interface AccountRow {
  readonly id: string;
  readonly name: string;
  readonly kind: AccountCloud | 'local';
  /** "AWS", "Google Cloud", "Azure" or "This machine". */
  readonly cloudName: string;
  /** The local cloud's built-in account: plans with target local run on this machine. It cannot be removed. */
  readonly local: boolean;
  readonly awsAccountId?: string | undefined;
  readonly roleArn?: string | undefined;
  readonly projectId?: string | undefined;
  readonly projectNumber?: string | undefined;
  readonly tenantId?: string | undefined;
  readonly subscriptionId?: string | undefined;
  readonly resourceGroup?: string | undefined;
  readonly region?: string | undefined;
  readonly connectedAt?: string | undefined;
  /** When CloudSeed last reached the account, if that is not when it was connected. */
  readonly verifiedAt?: string | undefined;
}

export function describeAccount(account: Account): AccountRow {
  const local = account.kind === 'local' || account.id === LOCAL_ACCOUNT_ID;
  const kind = local ? 'local' : account.kind;
  return {
    id: account.id,
    name: local ? 'This machine (local cloud)' : account.name,
    kind,
    cloudName: kind === 'local' ? 'This machine' : CLOUD_NAMES[kind],
    local,
    awsAccountId: account.awsAccountId,
    roleArn: account.roleArn,
    projectId: account.projectId,
    projectNumber: account.projectNumber,
    tenantId: account.tenantId,
    subscriptionId: account.subscriptionId,
    resourceGroup: account.resourceGroup,
    region: account.region,
    connectedAt: account.createdAt,
    verifiedAt: account.verifiedAt !== account.createdAt ? account.verifiedAt : undefined,
  };
}

/** What an account is in its cloud, for sentences: "AWS account 123456789012", "Google Cloud project shop-prod". */
export function accountWhere(account: Pick<Account, 'kind' | 'awsAccountId' | 'projectId' | 'resourceGroup'>): string | undefined {
  if (account.kind === 'aws' && account.awsAccountId) return `AWS account ${account.awsAccountId}`;
  if (account.kind === 'gcp' && account.projectId) return `Google Cloud project ${account.projectId}`;
  if (account.kind === 'azure' && account.resourceGroup) return `Azure resource group ${account.resourceGroup}`;
  return undefined;
}

/** "must be …" as a sentence under its field. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

function unreachable(doing: string): string {
  return `${doing} failed: CloudSeed cannot be reached. Check your connection and try again.`;
}

/** The part of a zod schema the forms use: the server's own rules, checked before anything is sent. */
interface Rules {
  safeParse(input: unknown):
    | { readonly success: true }
    | {
        readonly success: false;
        readonly error: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[] };
      };
}

/** The fields of a connection's body that pass `rules`, or undefined while one does not. */
function passing<T>(rules: Rules, input: T): T | undefined {
  return rules.safeParse(input).success ? input : undefined;
}

/**
 * What the three connection forms share: checking with the server's schema before sending, and
 * putting each of the server's field problems (`/path`) under its field.
 */
abstract class ConnectForm<Field extends string> {
  name = $state('');
  errors = $state<Partial<Record<Field, string>>>({});
  problem = $state.raw<FormProblem | undefined>();
  pending = $state(false);
  #attempted = false;

  /** The body's JSON pointers, to the form's fields. */
  protected abstract readonly paths: Readonly<Record<string, Field>>;
  protected abstract readonly rules: Rules;

  constructor(
    private readonly client: Pick<AccountsClient, 'connectAccount'>,
    private readonly onSignedOut?: () => void,
  ) {}

  abstract get input(): ConnectAccountInput;

  /** What to enter in each required field left empty. */
  protected abstract missing(): Partial<Record<Field, string>>;

  /** After a connection: empties what identified it, keeping the region for the next one. */
  protected abstract cleared(): void;

  /** The server's own rules (the same schema), so that a typo is caught before CloudSeed tries the connection. */
  check(): Partial<Record<Field, string>> {
    const errors = this.missing();
    const parsed = this.rules.safeParse(this.input);
    // The first broken rule of each field: an ARN of the wrong shape is not also named as the wrong role.
    for (const issue of parsed.success ? [] : parsed.error.issues) {
      const field = this.paths[`/${String(issue.path[0] ?? '')}`];
      if (field && errors[field] === undefined) errors[field] = sentence(issue.message);
    }
    return errors;
  }

  /** The user changed `field`: a complaint about it no longer applies; after a first attempt it is checked again as it is typed. */
  edited(field: Field): void {
    const error = this.#attempted ? this.check()[field] : undefined;
    if (error === undefined) delete this.errors[field];
    else this.errors[field] = error;
    if (this.problem && !this.problem.link) this.problem = undefined;
  }

  /** Connects the account; undefined (with the errors shown) when it was not connected. */
  async submit(): Promise<Account | undefined> {
    if (this.pending) return undefined;
    this.#attempted = true;
    this.problem = undefined;
    this.errors = this.check();
    if (Object.keys(this.errors).length > 0) return undefined;
    this.pending = true;
    try {
      const account = await this.client.connectAccount(this.input);
      this.#attempted = false;
      this.name = '';
      this.cleared();
      return account;
    } catch (error) {
      this.#show(error);
      return undefined;
    } finally {
      this.pending = false;
    }
  }

  #show(error: unknown): void {
    if (error instanceof SignedOut) {
      this.onSignedOut?.();
      return;
    }
    if (!(error instanceof ApiError)) {
      this.problem = {
        text: error instanceof TypeError ? unreachable('Connecting the account') : 'Connecting the account failed. Try again in a moment.',
      };
      return;
    }
    const errors: Partial<Record<Field, string>> = {};
    const details: string[] = [];
    for (const problem of error.errors) {
      const field = this.paths[problem.path];
      if (field) errors[field] = sentence(problem.message);
      else details.push(`${problem.path}: ${problem.message}`);
    }
    this.errors = errors;
    const problem = readDetail(error.detail || error.title);
    // Every complaint is under its field: the alert is only for what is not, or for a way forward.
    if (error.errors.length > 0 && details.length === 0 && !problem.link) return;
    this.problem = details.length > 0 ? { ...problem, details } : problem;
  }

  protected named<T extends object>(body: T): T | (T & { name: string }) {
    const name = this.name.trim();
    return name === '' ? body : { ...body, name };
  }
}

export type ConnectField = 'name' | 'roleArn' | 'region';

/** Step 2 of connecting an AWS account: the role the CloudSeed stack created, and the region it was launched in. */
export class ConnectAccountForm extends ConnectForm<ConnectField> {
  roleArn = $state('');
  region = $state<string>(DEFAULT_AWS_REGION);
  protected readonly paths = { '/name': 'name', '/roleArn': 'roleArn', '/region': 'region' } as const;
  protected readonly rules: Rules = connectAwsAccountSchema;

  get input(): ConnectAwsAccountInput {
    return this.named({ roleArn: this.roleArn.trim(), region: this.region });
  }

  protected missing(): Partial<Record<ConnectField, string>> {
    return this.roleArn.trim() === '' ? { roleArn: 'Enter the role ARN: the RoleArn output of the CloudSeed stack.' } : {};
  }

  protected cleared(): void {
    this.roleArn = '';
  }
}

export type GcpField = 'name' | 'projectId' | 'projectNumber' | 'region';
const gcpProjectRules: Rules = connectGcpAccountSchema.pick({ projectId: true, projectNumber: true });

/** A Google Cloud project: its id and number, which the gcloud commands name, and the region new plans on it default to. */
export class ConnectGcpForm extends ConnectForm<GcpField> {
  projectId = $state('');
  projectNumber = $state('');
  region = $state<string>(DEFAULT_GCP_REGION);
  protected readonly paths = { '/name': 'name', '/projectId': 'projectId', '/projectNumber': 'projectNumber', '/region': 'region' } as const;
  protected readonly rules: Rules = connectGcpAccountSchema;

  get input(): ConnectGcpAccountInput {
    return this.named({ cloud: 'gcp' as const, projectId: this.projectId.trim(), projectNumber: this.projectNumber.trim(), region: this.region });
  }

  /** The project, once its id and number are valid: what the gcloud commands need. */
  get connection(): GcpConnection | undefined {
    const { projectId, projectNumber } = this.input;
    return passing(gcpProjectRules, { projectId, projectNumber });
  }

  protected missing(): Partial<Record<GcpField, string>> {
    const errors: Partial<Record<GcpField, string>> = {};
    if (this.projectId.trim() === '') errors.projectId = 'Enter the project id: the PROJECT_ID column of gcloud projects list.';
    if (this.projectNumber.trim() === '') errors.projectNumber = 'Enter the project number: the PROJECT_NUMBER column of gcloud projects list.';
    return errors;
  }

  protected cleared(): void {
    this.projectId = '';
    this.projectNumber = '';
  }
}

export type AzureField = 'name' | 'tenantId' | 'subscriptionId' | 'resourceGroup' | 'region';
const azureGroupRules: Rules = connectAzureAccountSchema.pick({ tenantId: true, subscriptionId: true, resourceGroup: true, region: true });

/** An Azure resource group: the tenant and subscription it is in, and the region it (and new plans in it) are in. */
export class ConnectAzureForm extends ConnectForm<AzureField> {
  tenantId = $state('');
  subscriptionId = $state('');
  resourceGroup = $state('');
  region = $state<string>(DEFAULT_AZURE_REGION);
  protected readonly paths = {
    '/name': 'name',
    '/tenantId': 'tenantId',
    '/subscriptionId': 'subscriptionId',
    '/resourceGroup': 'resourceGroup',
    '/region': 'region',
  } as const;
  protected readonly rules: Rules = connectAzureAccountSchema;

  get input(): ConnectAzureAccountInput {
    // GUIDs mean the same in either case; the API takes them in lower case, as az prints them.
    return this.named({
      cloud: 'azure' as const,
      tenantId: this.tenantId.trim().toLowerCase(),
      subscriptionId: this.subscriptionId.trim().toLowerCase(),
      resourceGroup: this.resourceGroup.trim(),
      region: this.region,
    });
  }

  /** The resource group and its region, once they are valid: what the az commands need. */
  get connection(): (AzureConnection & { readonly region: string }) | undefined {
    const { tenantId, subscriptionId, resourceGroup, region = DEFAULT_AZURE_REGION } = this.input;
    return passing(azureGroupRules, { tenantId, subscriptionId, resourceGroup, region });
  }

  protected missing(): Partial<Record<AzureField, string>> {
    const errors: Partial<Record<AzureField, string>> = {};
    if (this.tenantId.trim() === '') errors.tenantId = 'Enter your tenant id: az account show --query tenantId prints it.';
    if (this.subscriptionId.trim() === '') errors.subscriptionId = 'Enter the subscription id: az account show --query id prints it.';
    if (this.resourceGroup.trim() === '') errors.resourceGroup = 'Enter the resource group plans deploy into; the commands create it.';
    return errors;
  }

  protected cleared(): void {
    this.subscriptionId = '';
    this.resourceGroup = '';
  }
}

type AzureCommands = typeof azureConnectCommands;

/** Why no commands are shown for a cloud, or the steps to run. */
export type Setup =
  | { readonly state: 'ready'; readonly steps: readonly SetupStep[] }
  /** The fields the commands name are not valid yet. */
  | { readonly state: 'waiting' }
  /** The platform cannot connect this cloud: `reason` says why. */
  | { readonly state: 'unavailable'; readonly reason: string }
  /** The commands are still being loaded. */
  | { readonly state: 'loading' }
  /** The commands could not be loaded. */
  | { readonly state: 'failed' };

export const GCP_NEEDS_AWS =
  "Connecting a Google Cloud project needs CloudSeed running on AWS: your project trusts CloudSeed's role there. This CloudSeed does not run on AWS, and cannot reach Google Cloud.";
export const AZURE_NEEDS_AWS =
  "Connecting an Azure resource group needs CloudSeed running on AWS: CloudSeed's Azure app trusts its role there. This CloudSeed does not run on AWS, and cannot reach Azure.";
export const NO_AZURE_APP =
  'Connecting an Azure resource group needs the Azure app your tenant consents to, and this CloudSeed has none configured. Its operator sets one up first.';

/** The commands a cloud's setup runs; the builder's RangeError means the input is not one to show commands for. */
function stepsOf(build: () => SetupStep[]): Setup {
  try {
    return { state: 'ready', steps: build() };
  } catch (error) {
    if (error instanceof RangeError) return { state: 'waiting' };
    throw error;
  }
}

export interface AccountsOptions {
  /** The session ended: the page sends the user to log in. */
  readonly onSignedOut?: () => void;
}

export class Accounts {
  list = $state.raw<AccountList | undefined>();
  /** The last load failed; the accounts shown (if any) are the ones from before. */
  error = $state<string | undefined>();
  /** The account the remove dialog asks about. */
  removing = $state.raw<AccountRow | undefined>();
  /** The remove dialog is open. */
  confirming = $state(false);
  /** Why the last removal did not go through, shown in the dialog. */
  removeError = $state<string | undefined>();
  /** What just happened, for the status line of the part of the page it is about: "Connected production." */
  notice = $state.raw<{ readonly about: 'connect' | 'remove'; readonly text: string } | undefined>();
  /** The AWS account form. */
  readonly form: ConnectAccountForm;
  readonly gcpForm: ConnectGcpForm;
  readonly azureForm: ConnectAzureForm;
  readonly rows: readonly AccountRow[] = $derived((this.list?.items ?? []).map((account) => describeAccount(account)));

  /** The gcloud commands for the project in the form, named for the platform's federation role. */
  readonly gcpSetup: Setup = $derived.by((): Setup => {
    const federation = this.list?.federation;
    if (!federation) return { state: 'unavailable', reason: GCP_NEEDS_AWS };
    const connection = this.gcpForm.connection;
    if (!connection) return { state: 'waiting' };
    return stepsOf(() => gcpConnectCommands(connection, federation));
  });

  /** The az commands for the resource group in the form, naming the platform's Entra app. */
  readonly azureSetup: Setup = $derived.by((): Setup => {
    const federation = this.list?.federation;
    if (!federation) return { state: 'unavailable', reason: AZURE_NEEDS_AWS };
    const appId = federation.azureAppId;
    if (!appId) return { state: 'unavailable', reason: NO_AZURE_APP };
    const build = this.#azureCommands;
    if (build === 'failed') return { state: 'failed' };
    if (!build) return { state: 'loading' };
    const connection = this.azureForm.connection;
    if (!connection) return { state: 'waiting' };
    return stepsOf(() => build(connection, appId, connection.region));
  });

  readonly #client: AccountsClient;
  readonly #options: AccountsOptions;
  #inFlight: Promise<void> | undefined;
  #cloud = $state<AccountCloud>('aws');
  #azureCommands = $state.raw<AzureCommands | 'failed' | undefined>();

  constructor(client: AccountsClient, options: AccountsOptions = {}) {
    this.#client = client;
    this.#options = options;
    const signedOut = () => this.#signedOut();
    this.form = new ConnectAccountForm(client, signedOut);
    this.gcpForm = new ConnectGcpForm(client, signedOut);
    this.azureForm = new ConnectAzureForm(client, signedOut);
  }

  /** The cloud whose form is shown: AWS until another is picked. */
  get cloud(): AccountCloud {
    return this.#cloud;
  }

  set cloud(cloud: AccountCloud) {
    this.#cloud = cloud;
    if (cloud === 'azure') void this.#loadAzureCommands();
  }

  get loaded(): boolean {
    return this.list !== undefined;
  }

  /** The connected accounts, without the local cloud's built-in one. */
  get connectedRows(): readonly AccountRow[] {
    return this.rows.filter((row) => !row.local);
  }

  /** The template's launch link for the region picked in the form, when the platform publishes one. */
  get launchUrl(): string | undefined {
    const url = this.list?.launchStackUrl;
    return url ? launchUrlIn(url, this.form.region) : undefined;
  }

  /** Loads the accounts now; concurrent calls share one request. */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#load().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Connects what the form of the cloud picked names. */
  async connect(): Promise<Account | undefined> {
    this.notice = undefined;
    const form = this.cloud === 'gcp' ? this.gcpForm : this.cloud === 'azure' ? this.azureForm : this.form;
    const account = await form.submit();
    if (!account) return undefined;
    const list = this.list;
    if (list && !list.items.some((item) => item.id === account.id)) this.list = { ...list, items: [...list.items, account] };
    const where = accountWhere(account);
    this.notice = { about: 'connect', text: `Connected ${account.name}${where ? ` (${where})` : ''}.` };
    void this.refresh();
    return account;
  }

  askToRemove(row: AccountRow): void {
    if (row.local) return;
    this.removing = row;
    this.removeError = undefined;
    this.confirming = true;
  }

  cancelRemove(): void {
    this.confirming = false;
    this.removeError = undefined;
  }

  /** Removes the account the dialog asks about; false, with the reason in `removeError`, when it stays. */
  async remove(): Promise<boolean> {
    const row = this.removing;
    if (!row) return false;
    this.removeError = undefined;
    try {
      await this.#client.deleteAccount(row.id);
    } catch (error) {
      if (error instanceof SignedOut) {
        this.#signedOut();
        return false;
      }
      // Already gone (another tab removed it): what the user asked for.
      if (!(error instanceof ApiError && error.status === 404)) {
        this.removeError =
          error instanceof ApiError ? `${row.name} was not removed: ${error.detail || error.title}` : unreachable('Removing the account');
        return false;
      }
    }
    const list = this.list;
    if (list) this.list = { ...list, items: list.items.filter((item) => item.id !== row.id) };
    this.confirming = false;
    this.notice = { about: 'remove', text: `Removed ${row.name}.` };
    void this.refresh();
    return true;
  }

  #signedOut(): void {
    this.#options.onSignedOut?.();
  }

  // Loaded when Azure is picked, apart from the page: the module brings every action the Azure provider
  // uses, which only a customer connecting Azure needs, and where it cannot load the rest of the page
  // still works.
  async #loadAzureCommands(): Promise<void> {
    if (this.#azureCommands && this.#azureCommands !== 'failed') return;
    this.#azureCommands = undefined;
    try {
      this.#azureCommands = (await import('@cloudseed/shared/targets/azure/connection')).azureConnectCommands;
    } catch {
      this.#azureCommands = 'failed';
    }
  }

  async #load(): Promise<void> {
    try {
      this.list = await this.#client.accountList();
      this.error = undefined;
    } catch (error) {
      if (error instanceof SignedOut) {
        this.#signedOut();
        return;
      }
      this.error =
        error instanceof ApiError
          ? `Your accounts could not be loaded: ${error.detail || error.title}`
          : error instanceof TypeError
            ? 'Cannot reach CloudSeed. Check your connection and try again.'
            : 'Your accounts could not be loaded. Try again in a moment.';
    }
  }
}
