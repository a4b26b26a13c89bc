import { connectAccountSchema, LOCAL_ACCOUNT_ID } from '@cloudseed/shared/accounts/accounts';
import { DEFAULT_AWS_REGION } from '@cloudseed/shared/cs-json/schema';
import { ApiError, SignedOut } from '../api/client.ts';
import type { Account, AccountList, ConnectAccountInput } from '../api/types.ts';
import { launchUrlIn, readDetail, type FormProblem } from './launch-link.ts';

// The AWS accounts page: the connected accounts, the form that connects one, and removing one.
// The API is reached through `AccountsClient`, so tests drive the page with a fake.

export interface AccountsClient {
  accountList(): Promise<AccountList>;
  connectAccount(input: ConnectAccountInput): Promise<Account>;
  deleteAccount(id: string): Promise<void>;
}

/** What the table shows of an account. */
export interface AccountRow {
  readonly id: string;
  readonly name: string;
  /** The local cloud's built-in account: plans with target local run on this machine. It cannot be removed. */
  readonly local: boolean;
  readonly awsAccountId?: string | undefined;
  readonly roleArn?: string | undefined;
  readonly region?: string | undefined;
  readonly connectedAt?: string | undefined;
  /** When CloudSeed last assumed the role, if that is not when it was connected. */
  readonly verifiedAt?: string | undefined;
}

export function describeAccount(account: Account): AccountRow {
  const local = account.kind === 'local' || account.id === LOCAL_ACCOUNT_ID;
  return {
    id: account.id,
    name: local ? 'This machine (local cloud)' : account.name,
    local,
    awsAccountId: account.awsAccountId,
    roleArn: account.roleArn,
    region: account.region,
    connectedAt: account.createdAt,
    verifiedAt: account.verifiedAt !== account.createdAt ? account.verifiedAt : undefined,
  };
}

export type ConnectField = 'name' | 'roleArn' | 'region';
const FIELDS: Readonly<Record<string, ConnectField>> = { '/name': 'name', '/roleArn': 'roleArn', '/region': 'region' };

/** "must be …" as a sentence under its field. */
function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

function unreachable(doing: string): string {
  return `${doing} failed: CloudSeed cannot be reached. Check your connection and try again.`;
}

/** Step 2 of connecting an account: the role the CloudSeed stack created, and the region it was launched in. */
export class ConnectAccountForm {
  name = $state('');
  roleArn = $state('');
  region = $state<string>(DEFAULT_AWS_REGION);
  errors = $state<Partial<Record<ConnectField, string>>>({});
  problem = $state.raw<FormProblem | undefined>();
  pending = $state(false);
  #attempted = false;

  constructor(
    private readonly client: Pick<AccountsClient, 'connectAccount'>,
    private readonly onSignedOut?: () => void,
  ) {}

  get input(): ConnectAccountInput {
    const name = this.name.trim();
    return { roleArn: this.roleArn.trim(), region: this.region, ...(name === '' ? {} : { name }) };
  }

  /** The server's own rules (the same schema), so that a typo is caught before CloudSeed tries the role. */
  check(): Partial<Record<ConnectField, string>> {
    const input = this.input;
    const errors: Partial<Record<ConnectField, string>> = {};
    if (input.roleArn === '') errors.roleArn = 'Enter the role ARN: the RoleArn output of the CloudSeed stack.';
    const parsed = connectAccountSchema.safeParse(input);
    // The first broken rule of each field: an ARN of the wrong shape is not also named as the wrong role.
    for (const issue of parsed.success ? [] : parsed.error.issues) {
      const field = FIELDS[`/${String(issue.path[0] ?? '')}`];
      if (field && errors[field] === undefined) errors[field] = sentence(issue.message);
    }
    return errors;
  }

  /** The user changed `field`: a complaint about it no longer applies; after a first attempt it is checked again as it is typed. */
  edited(field: ConnectField): void {
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
      this.roleArn = '';
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
    const errors: Partial<Record<ConnectField, string>> = {};
    const details: string[] = [];
    for (const problem of error.errors) {
      const field = FIELDS[problem.path];
      if (field) errors[field] = sentence(problem.message);
      else details.push(`${problem.path}: ${problem.message}`);
    }
    this.errors = errors;
    const problem = readDetail(error.detail || error.title);
    // Every complaint is under its field: the alert is only for what is not, or for a way forward.
    if (error.errors.length > 0 && details.length === 0 && !problem.link) return;
    this.problem = details.length > 0 ? { ...problem, details } : problem;
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
  readonly form: ConnectAccountForm;
  readonly rows: readonly AccountRow[] = $derived((this.list?.items ?? []).map((account) => describeAccount(account)));

  readonly #client: AccountsClient;
  readonly #options: AccountsOptions;
  #inFlight: Promise<void> | undefined;

  constructor(client: AccountsClient, options: AccountsOptions = {}) {
    this.#client = client;
    this.#options = options;
    this.form = new ConnectAccountForm(client, () => this.#signedOut());
  }

  get loaded(): boolean {
    return this.list !== undefined;
  }

  /** The connected AWS accounts, without the local cloud's built-in one. */
  get awsRows(): readonly AccountRow[] {
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

  async connect(): Promise<Account | undefined> {
    this.notice = undefined;
    const account = await this.form.submit();
    if (!account) return undefined;
    const list = this.list;
    if (list && !list.items.some((item) => item.id === account.id)) this.list = { ...list, items: [...list.items, account] };
    this.notice = { about: 'connect', text: `Connected ${account.name}${account.awsAccountId ? ` (AWS account ${account.awsAccountId})` : ''}.` };
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
          ? `Your AWS accounts could not be loaded: ${error.detail || error.title}`
          : error instanceof TypeError
            ? 'Cannot reach CloudSeed. Check your connection and try again.'
            : 'Your AWS accounts could not be loaded. Try again in a moment.';
    }
  }
}
