import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '#lib/config.ts';
import { awsAccount, gcpAccount } from '../accounts/test-fakes.ts';
import PlanEditor from './plan-editor.svelte';

// The editor of a new plan, whose router is the page's: navigation is not what these tests are about.
vi.mock('$app/navigation', () => ({ beforeNavigate: vi.fn(), goto: vi.fn(() => Promise.resolve()) }));

const CONFIG: AppConfig = {
  mode: 'aws',
  region: 'eu-west-1',
  userPoolId: 'eu-west-1_abcdefghi',
  userPoolClientId: 'client',
  cognitoEndpoint: 'https://cognito-idp.eu-west-1.amazonaws.com',
  apiBase: '/v1',
};

describe('the plan editor on a cloud that takes no apps yet', () => {
  it('says apps deploy on AWS and this machine only while a Google Cloud plan has one, and nothing once it is back on AWS', async () => {
    render(PlanEditor, { config: CONFIG, accounts: [awsAccount(), gcpAccount()] });
    await fireEvent.keyDown(screen.getByLabelText('PostgreSQL'), { key: 'Enter' });
    await fireEvent.keyDown(screen.getByLabelText('App service'), { key: 'Enter' });
    expect(screen.queryByText(/^Apps deploy/)).toBeNull();

    await fireEvent.change(screen.getByLabelText('Deploy to'), { target: { value: `gcp:${gcpAccount().id}` } });

    expect(screen.getByText(/^Apps deploy/).textContent).toBe(
      'Apps deploy on AWS and on this machine only: this plan cannot deploy to Google Cloud while it has app. Deploy the app with a plan on AWS instead.',
    );

    await fireEvent.change(screen.getByLabelText('Deploy to'), { target: { value: `aws:${awsAccount().id}` } });

    expect(screen.queryByText(/^Apps deploy/)).toBeNull();
  });
});

describe('the plan’s own PostgreSQL settings', () => {
  it('show pgtune’s value beside a box for the plan’s own, say what a change costs, and name a bad value', async () => {
    render(PlanEditor, { config: CONFIG, accounts: [awsAccount()] });
    await fireEvent.keyDown(screen.getByLabelText('PostgreSQL'), { key: 'Enter' });
    const table = screen.getByRole('table', { name: /postgresql.conf settings/ });
    const workMem = screen.getByLabelText<HTMLInputElement>('Your work_mem');
    // Empty: pgtune's value stands, and the box shows it.
    expect(workMem.value).toBe('');
    expect(workMem.placeholder).toMatch(/^\d+kB$/);
    const effect = (name: string) =>
      document.getElementById(screen.getByLabelText(`Your ${name}`).getAttribute('aria-describedby')!.split(' ')[0]!)?.textContent;
    expect(effect('work_mem')).toBe('Applied on deploy, no restart');
    expect(effect('shared_buffers')).toBe('Restarts the server on deploy');
    // Settings pgtune leaves at PostgreSQL's default are offered too; CloudSeed's own are not editable.
    expect(screen.getByLabelText('Your statement_timeout')).toBeTruthy();
    expect(screen.queryByLabelText('Your max_connections')).toBeNull();
    expect(table.textContent).toContain('max_connections');

    await fireEvent.input(workMem, { target: { value: '99TB' } });
    expect(workMem.getAttribute('aria-invalid')).toBe('true');
    expect(table.textContent).toContain('must be from 64kB to 4GB');
    await fireEvent.input(workMem, { target: { value: '32MB' } });
    expect(workMem.getAttribute('aria-invalid')).toBeNull();
    expect(table.textContent).not.toContain('must be from');
  });
});
