import { CLOUD_NAMES } from '@cloudseed/shared/accounts/accounts';
import type { Account } from '#lib/api/index.ts';
import type { AppConfig } from '#lib/config.ts';
import type { EditablePlan } from './draft.svelte.ts';

// Where a plan can deploy, as the "Deploy to" select offers it: this machine, each connected AWS
// account, Google Cloud project and Azure resource group, and Google Cloud and Azure with no
// account (rendered and priced, not deployed). Each choice is a value of the select; choosing one
// gives the plan its target.

type Target = EditablePlan['target'];

export interface TargetChoice {
  readonly value: string;
  readonly label: string;
}

const DEFAULT_GCP_REGION = 'us-central1';
const DEFAULT_AZURE_REGION = 'eastus';

/** A Google Cloud account as a plan names it: the project it connects. */
type GcpAccount = Account & { readonly kind: 'gcp'; readonly projectId: string };
/** An Azure account as a plan names it: the subscription and the resource group it connects. */
type AzureAccount = Account & { readonly kind: 'azure'; readonly subscriptionId: string; readonly resourceGroup: string };

function isGcp(account: Account): account is GcpAccount {
  return account.kind === 'gcp' && account.projectId !== undefined;
}

function isAzure(account: Account): account is AzureAccount {
  return account.kind === 'azure' && account.subscriptionId !== undefined && account.resourceGroup !== undefined;
}

export function gcpAccountOf(accounts: readonly Account[], id: string | undefined): GcpAccount | undefined {
  return id === undefined ? undefined : accounts.filter(isGcp).find((account) => account.id === id);
}

export function azureAccountOf(accounts: readonly Account[], id: string | undefined): AzureAccount | undefined {
  return id === undefined ? undefined : accounts.filter(isAzure).find((account) => account.id === id);
}

/** The select's value for a target: its cloud and the account it names (an AWS target always has the colon). */
export function choiceOf(target: Target): string {
  if (target.cloud === 'local') return 'local';
  if (target.cloud === 'aws') return `aws:${target.accountId ?? ''}`;
  return target.accountId ? `${target.cloud}:${target.accountId}` : target.cloud;
}

function accountChoice(account: Account): TargetChoice {
  const where = account.kind === 'aws' ? account.awsAccountId : account.kind === 'gcp' ? account.projectId : account.resourceGroup;
  const cloud = account.kind === 'local' ? 'This machine' : CLOUD_NAMES[account.kind];
  return { value: `${account.kind}:${account.id}`, label: `${cloud} · ${account.name}${where ? ` (${where})` : ''}` };
}

/**
 * What the select offers, each cloud's accounts before its choice with no account. A plan that names
 * an account no longer listed keeps its choice, marked, so the select never shows another one.
 */
export function targetChoices(accounts: readonly Account[], mode: AppConfig['mode'], target: Target): TargetChoice[] {
  const aws = accounts.filter((account) => account.kind === 'aws');
  const gcp = accounts.filter(isGcp);
  const azure = accounts.filter(isAzure);
  const choices: TargetChoice[] = [
    ...(mode === 'local' ? [{ value: 'local', label: 'This machine (local cloud)' }] : []),
    ...aws.map(accountChoice),
    ...(mode === 'aws' && aws.length === 0 ? [{ value: 'aws:', label: 'AWS (connect an account first)' }] : []),
    ...gcp.map(accountChoice),
    { value: 'gcp', label: 'Google Cloud (no account: render and price only)' },
    ...azure.map(accountChoice),
    { value: 'azure', label: 'Azure (no account: render and price only)' },
  ];
  const current = choiceOf(target);
  if (!choices.some((choice) => choice.value === current)) choices.push({ value: current, label: unlistedLabel(target) });
  return choices;
}

function unlistedLabel(target: Target): string {
  if (target.cloud === 'local') return 'This machine (local cloud)';
  const cloud = CLOUD_NAMES[target.cloud];
  return target.accountId ? `${cloud} · account ${target.accountId} (not connected)` : `${cloud} (no account)`;
}

/**
 * The target a choice gives the plan. An account brings what it connects and, when the plan is not
 * on its cloud yet, its home region; a plan already there keeps its region. Undefined for an account
 * not listed: nothing is known to move the plan to.
 */
export function targetFor(value: string, current: Target, accounts: readonly Account[], awsRegion: string): Target | undefined {
  const [cloud, accountId] = value.split(':') as [string, string | undefined];
  switch (cloud) {
    case 'local':
      return { cloud: 'local' };
    case 'aws': {
      const region = current.cloud === 'aws' ? current.region : awsRegion;
      return accountId ? { cloud: 'aws', region, accountId } : { cloud: 'aws', region };
    }
    case 'gcp': {
      const kept = current.cloud === 'gcp' ? current : undefined;
      if (accountId === undefined) {
        const region = kept?.region ?? DEFAULT_GCP_REGION;
        return { cloud: 'gcp', project: kept?.project ?? '', region, zone: kept?.zone ?? `${region}-a` };
      }
      const account = gcpAccountOf(accounts, accountId);
      if (!account) return undefined;
      const region = kept?.region ?? account.region ?? DEFAULT_GCP_REGION;
      return { cloud: 'gcp', project: account.projectId, region, zone: kept?.zone ?? `${region}-a`, accountId };
    }
    case 'azure': {
      const kept = current.cloud === 'azure' ? current : undefined;
      if (accountId === undefined) {
        return {
          cloud: 'azure',
          subscriptionId: kept?.subscriptionId ?? '',
          resourceGroup: kept?.resourceGroup ?? '',
          region: kept?.region ?? DEFAULT_AZURE_REGION,
        };
      }
      const account = azureAccountOf(accounts, accountId);
      if (!account) return undefined;
      const { subscriptionId, resourceGroup } = account;
      return { cloud: 'azure', subscriptionId, resourceGroup, region: kept?.region ?? account.region ?? DEFAULT_AZURE_REGION, accountId };
    }
    default:
      return undefined;
  }
}

/** A field of the target that differs from what its account connects, and why it matters. */
export interface AccountMismatch {
  readonly field: 'project' | 'subscriptionId' | 'resourceGroup';
  readonly message: string;
}

/**
 * Where the target differs from what its account connects (a plan written through the API can say
 * anything), or undefined when it does not or names no listed account. A deploy goes only where the
 * account's trust reaches; Azure compares group names regardless of case.
 */
export function accountMismatch(target: Target, accounts: readonly Account[]): AccountMismatch | undefined {
  if (target.cloud === 'gcp') {
    const account = gcpAccountOf(accounts, target.accountId);
    if (!account || account.projectId === target.project) return undefined;
    return { field: 'project', message: `${account.name} connects project ${account.projectId}: the plan deploys there only` };
  }
  if (target.cloud === 'azure') {
    const account = azureAccountOf(accounts, target.accountId);
    if (!account) return undefined;
    const message = `${account.name} connects resource group ${account.resourceGroup} of subscription ${account.subscriptionId}: the plan deploys there only`;
    if (account.subscriptionId !== target.subscriptionId) return { field: 'subscriptionId', message };
    if (account.resourceGroup.toLowerCase() !== target.resourceGroup.toLowerCase()) return { field: 'resourceGroup', message };
  }
  return undefined;
}
