import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Account } from '#lib/api/index.ts';
import { AZURE_GROUP, awsAccount, azureAccount, GCP_PROJECT, gcpAccount, LOCAL } from '../accounts/test-fakes.ts';
import { newPlan, PlanDraft, type EditablePlan } from './draft.svelte.ts';
import PlanTarget from './plan-target.svelte';

// "Deploy to": the connected accounts of each cloud, and what choosing one does to the plan's target.

const GCP_ID = gcpAccount().id;
const AZURE_ID = azureAccount().id;
const AWS_ID = awsAccount().id;

function show(target: EditablePlan['target'], accounts: readonly Account[], mode: 'local' | 'aws' = 'aws') {
  const draft = new PlanDraft(newPlan(target), false);
  draft.plan.name = 'orders';
  draft.add('16');
  render(PlanTarget, { draft, accounts, mode, awsRegion: 'us-east-1' });
  return draft;
}

const deployTo = () => screen.getByLabelText<HTMLSelectElement>('Deploy to');
const choices = () => [...deployTo().options].map((option) => [option.value, option.textContent]);
const field = (label: string) => screen.getByLabelText<HTMLInputElement>(label, { exact: true });

function describedBy(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
}

describe('the Deploy to select', () => {
  it('lists each connected AWS account, Google Cloud project and Azure resource group, each cloud’s before its choice with no account', () => {
    show({ cloud: 'aws', region: 'eu-west-1', accountId: AWS_ID }, [awsAccount(), gcpAccount(), azureAccount()]);

    expect(choices()).toEqual([
      [`aws:${AWS_ID}`, 'AWS · production (123456789012)'],
      [`gcp:${GCP_ID}`, 'Google Cloud · analytics (shop-prod-4821)'],
      ['gcp', 'Google Cloud (no account: render and price only)'],
      [`azure:${AZURE_ID}`, 'Azure · billing (shop-prod)'],
      ['azure', 'Azure (no account: render and price only)'],
    ]);
    expect(deployTo().value).toBe(`aws:${AWS_ID}`);
  });

  it('offers this machine first on the local cloud, with no AWS choice and no connect link while no AWS account is connected', () => {
    show({ cloud: 'local' }, [LOCAL, gcpAccount()], 'local');

    expect(choices().map(([value]) => value)).toEqual(['local', `gcp:${GCP_ID}`, 'gcp', 'azure']);
    expect(screen.queryByRole('link')).toBeNull();
  });

  it('links to connecting a project or a resource group for a plan on a cloud with none connected', async () => {
    show({ cloud: 'aws', region: 'eu-west-1', accountId: AWS_ID }, [awsAccount()]);
    expect(screen.queryByRole('link')).toBeNull();

    await fireEvent.change(deployTo(), { target: { value: 'gcp' } });
    expect(screen.getByRole('link').textContent).toBe('Connect a Google Cloud project');

    await fireEvent.change(deployTo(), { target: { value: 'azure' } });
    expect(screen.getByRole('link').textContent).toBe('Connect an Azure resource group');
  });

  it('retargets the plan to a Google Cloud account: its project, and its home region for a plan not on Google Cloud yet', async () => {
    const draft = show({ cloud: 'aws', region: 'eu-west-1', accountId: AWS_ID }, [awsAccount(), gcpAccount()]);

    await fireEvent.change(deployTo(), { target: { value: `gcp:${GCP_ID}` } });

    expect(draft.plan.target).toEqual({ cloud: 'gcp', project: 'shop-prod-4821', region: 'europe-west1', zone: 'europe-west1-a', accountId: GCP_ID });
    expect(draft.databases[0]?.os).toEqual({ name: 'debian', version: '12' });
    expect(deployTo().value).toBe(`gcp:${GCP_ID}`);
    expect(field('Project').value).toBe('shop-prod-4821');
    expect(field('Project').readOnly).toBe(true);
    expect(describedBy(field('Project'))).toBe('The project analytics connects: the plan deploys there only.');
    expect(field('Region').value).toBe('europe-west1');
    expect(field('Zone').value).toBe('europe-west1-a');
  });

  it('keeps the region and zone of a plan already on Google Cloud when it takes an account', async () => {
    const draft = show({ cloud: 'gcp', project: 'typed-by-hand', region: 'asia-east1', zone: 'asia-east1-c' }, [gcpAccount()]);
    expect(field('Project').readOnly).toBe(false);

    await fireEvent.change(deployTo(), { target: { value: `gcp:${GCP_ID}` } });

    expect(draft.plan.target).toEqual({ cloud: 'gcp', project: 'shop-prod-4821', region: 'asia-east1', zone: 'asia-east1-c', accountId: GCP_ID });
  });

  it('retargets the plan to an Azure account: its subscription, resource group and home region, both fields read-only', async () => {
    const draft = show({ cloud: 'gcp', project: 'shop-prod-4821', region: 'us-central1', zone: 'us-central1-a', accountId: GCP_ID }, [
      gcpAccount(),
      azureAccount(),
    ]);

    await fireEvent.change(deployTo(), { target: { value: `azure:${AZURE_ID}` } });

    expect(draft.plan.target).toEqual({
      cloud: 'azure',
      subscriptionId: AZURE_GROUP.subscriptionId,
      resourceGroup: 'shop-prod',
      region: 'westeurope',
      accountId: AZURE_ID,
    });
    expect(field('Subscription').value).toBe(AZURE_GROUP.subscriptionId);
    expect(field('Resource group').value).toBe('shop-prod');
    expect([field('Subscription').readOnly, field('Resource group').readOnly]).toEqual([true, true]);
    expect(describedBy(field('Subscription'))).toBe('The group billing connects: the plan deploys there only.');
    expect(field('Region').value).toBe('westeurope');
  });

  it('leaves the account for Google Cloud with no account, keeping the project to edit', async () => {
    const draft = show({ cloud: 'gcp', project: 'shop-prod-4821', region: 'europe-west1', zone: 'europe-west1-b', accountId: GCP_ID }, [
      gcpAccount(),
    ]);

    await fireEvent.change(deployTo(), { target: { value: 'gcp' } });

    expect(draft.plan.target).toEqual({ cloud: 'gcp', project: 'shop-prod-4821', region: 'europe-west1', zone: 'europe-west1-b' });
    expect(field('Project').readOnly).toBe(false);
    expect(screen.getByRole('link', { name: 'Connect an AWS account' })).toBeTruthy();
  });

  it('shows a saved plan on an Azure account as that account, its group matched regardless of case', () => {
    show({ cloud: 'azure', subscriptionId: AZURE_GROUP.subscriptionId, resourceGroup: 'Shop-Prod', region: 'westeurope', accountId: AZURE_ID }, [
      awsAccount(),
      azureAccount(),
    ]);

    expect(deployTo().value).toBe(`azure:${AZURE_ID}`);
    expect(deployTo().selectedOptions[0]?.textContent).toBe('Azure · billing (shop-prod)');
    expect(field('Resource group').value).toBe('Shop-Prod');
    expect(field('Resource group').readOnly).toBe(true);
  });

  it('lets the user fix a project that is not its account’s, saying which one the account connects', () => {
    show({ cloud: 'gcp', project: 'other-project', region: 'europe-west1', zone: 'europe-west1-a', accountId: GCP_ID }, [gcpAccount()]);

    expect(deployTo().value).toBe(`gcp:${GCP_ID}`);
    expect(field('Project').readOnly).toBe(false);
    expect(field('Project').getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(field('Project'))).toBe(`analytics connects project ${GCP_PROJECT.projectId}: the plan deploys there only`);
  });

  it('keeps a plan on an account that is no longer connected as its choice, marked', () => {
    const gone = '0a0b0c0d-1111-4222-8333-444455556666';
    show({ cloud: 'gcp', project: 'shop-prod-4821', region: 'us-central1', zone: 'us-central1-a', accountId: gone }, [gcpAccount()]);

    expect(deployTo().value).toBe(`gcp:${gone}`);
    expect(deployTo().selectedOptions[0]?.textContent).toBe(`Google Cloud · account ${gone} (not connected)`);
    expect(field('Project').readOnly).toBe(false);
  });

  it('offers a Google Cloud account’s home region even when the list does not', async () => {
    const draft = show({ cloud: 'local' }, [gcpAccount({ region: 'me-central2' })], 'local');

    await fireEvent.change(deployTo(), { target: { value: `gcp:${GCP_ID}` } });

    expect(draft.plan.target).toEqual({ cloud: 'gcp', project: 'shop-prod-4821', region: 'me-central2', zone: 'me-central2-a', accountId: GCP_ID });
    expect(field('Region').value).toBe('me-central2');
  });
});
