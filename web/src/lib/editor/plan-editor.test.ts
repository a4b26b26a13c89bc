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
