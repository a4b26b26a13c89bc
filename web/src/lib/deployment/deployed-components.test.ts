import { fireEvent, render, screen, within } from '@testing-library/svelte';
import axe from 'axe-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import { LOG_POLL_MS, LOG_TAIL } from './app-logs.svelte.ts';
import DeploymentPanel from './deployment-panel.svelte';
import {
  deployingDeployment,
  deploymentWithApp,
  fakeClient,
  LOG_LINES,
  PLAN_ID,
  polyfillDialog,
  REQUESTED,
  runningDeployment,
  SERVING,
  settle,
  T0,
} from './test-fakes.ts';

// The deployment panel's components: each one's status, an app's address, versions, log and roll back.

beforeAll(polyfillDialog);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0 + 60_000);
});

afterEach(() => {
  vi.useRealTimers();
});

async function mount(client: ReturnType<typeof fakeClient>) {
  const result = render(DeploymentPanel, { planId: PLAN_ID, planName: 'shop', mode: 'local', client });
  await settle();
  return result;
}

const components = () => screen.getByRole('region', { name: 'Components' });
function item(id: string): HTMLElement {
  const row = within(components())
    .getAllByRole('listitem')
    .find((candidate) => candidate.querySelector('.name')?.textContent === id);
  if (!row) throw new Error(`no component ${id}`);
  return row;
}
const log = () => screen.getByRole('log', { name: 'Log of web' });
const logTexts = () => [...log().querySelectorAll('.text')].map((line) => line.textContent);

describe('the components of a deployment', () => {
  it('shows each component’s own status, and an app’s address opening in a new tab', async () => {
    await mount(fakeClient(deploymentWithApp()));

    expect(within(item('db')).getByText('Running', { exact: true })).toBeTruthy();
    expect(within(item('web')).getByText('Running', { exact: true })).toBeTruthy();
    const link = within(item('web')).getByRole('link', { name: 'https://web-7532f938.apps.example.com' });
    expect(link.getAttribute('href')).toBe('https://web-7532f938.apps.example.com');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toContain('noopener');
  });

  it('shows the serving commit, and the requested one only while it differs', async () => {
    const client = fakeClient(deploymentWithApp());
    await mount(client);

    expect(item('web').textContent).toMatch(new RegExp(`Serving\\s*${SERVING.slice(0, 7)}`));
    expect(item('web').textContent).not.toContain('Requested');

    client.deployment.mockResolvedValue(
      deployingDeployment({ components: [{ id: 'web', type: 'app', status: 'deploying', servingVersion: SERVING, requestedVersion: REQUESTED }] }),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await settle();

    expect(within(item('web')).getByText('Deploying', { exact: true })).toBeTruthy();
    expect(item('web').textContent).toMatch(new RegExp(`Requested\\s*${REQUESTED.slice(0, 7)}`));
    expect(within(item('web')).getByText(REQUESTED.slice(0, 7)).getAttribute('title')).toBe(REQUESTED);
  });

  it('says why a component failed', async () => {
    await mount(fakeClient(deploymentWithApp({ status: 'failed', reason: 'release command exited with 1' })));

    expect(within(item('web')).getByText('Failed', { exact: true })).toBeTruthy();
    expect(item('web').textContent).toContain('release command exited with 1');
  });

  it('is not there for an older server that does not say', async () => {
    await mount(fakeClient(runningDeployment()));

    expect(screen.queryByRole('region', { name: 'Components' })).toBeNull();
  });
});

describe('an app’s log', () => {
  it('shows the newest lines with their time and source, and polls every 2 s while the panel is open', async () => {
    const client = fakeClient(deploymentWithApp());
    const { unmount } = await mount(client);

    expect(client.componentLogs).toHaveBeenCalledWith(PLAN_ID, 'web', LOG_TAIL);
    expect(logTexts()).toEqual(LOG_LINES.map((line) => line.text));
    expect(log().querySelector('time')?.getAttribute('datetime')).toBe(LOG_LINES[0]?.time);

    client.componentLogs.mockResolvedValue({ lines: [...LOG_LINES, { time: LOG_LINES[3]?.time ?? '', source: 'run', text: 'GET / 200' }] });
    await vi.advanceTimersByTimeAsync(LOG_POLL_MS);
    await settle();
    expect(logTexts().at(-1)).toBe('GET / 200');
    const calls = client.componentLogs.mock.calls.length;

    unmount();
    await vi.advanceTimersByTimeAsync(LOG_POLL_MS * 5);
    expect(client.componentLogs).toHaveBeenCalledTimes(calls);
  });

  it('shows only the lines of the chosen source', async () => {
    await mount(fakeClient(deploymentWithApp()));

    await fireEvent.click(within(item('web')).getByRole('radio', { name: 'Build' }));
    expect(logTexts()).toEqual(['npm ci: added 112 packages', 'npm run build: done']);

    await fireEvent.click(within(item('web')).getByRole('radio', { name: 'Release' }));
    expect(logTexts()).toEqual(['migrations: 3 applied']);

    await fireEvent.click(within(item('web')).getByRole('radio', { name: 'All' }));
    expect(logTexts()).toHaveLength(LOG_LINES.length);
  });

  it('follows new lines while scrolled to the bottom, and stays put once scrolled up', async () => {
    const client = fakeClient(deploymentWithApp());
    await mount(client);
    const box = log();
    let scrollHeight = 400;
    Object.defineProperty(box, 'scrollHeight', { configurable: true, get: () => scrollHeight });
    Object.defineProperty(box, 'clientHeight', { configurable: true, get: () => 200 });
    const more = (text: string) =>
      client.componentLogs.mockResolvedValue({ lines: [...LOG_LINES, { time: LOG_LINES[3]?.time ?? '', source: 'run', text }] });

    more('one');
    await vi.advanceTimersByTimeAsync(LOG_POLL_MS);
    await settle();
    expect(box.scrollTop).toBe(400);

    box.scrollTop = 50;
    await fireEvent.scroll(box);
    scrollHeight = 600;
    more('two');
    await vi.advanceTimersByTimeAsync(LOG_POLL_MS);
    await settle();
    expect(box.scrollTop).toBe(50);
  });

  it('says when a fetch fails and keeps the lines it has', async () => {
    const client = fakeClient(deploymentWithApp());
    await mount(client);

    client.componentLogs.mockRejectedValue(new ApiError(503, 'Service Unavailable', 'The log store is not reachable.'));
    await vi.advanceTimersByTimeAsync(LOG_POLL_MS);
    await settle();

    expect(item('web').textContent).toContain('Loading the log failed: The log store is not reachable.');
    expect(logTexts()).toHaveLength(LOG_LINES.length);
  });
});

describe('rolling an app back', () => {
  async function confirmRollback() {
    await fireEvent.click(within(item('web')).getByRole('button', { name: 'Roll back' }));
    await settle();
    const dialog = screen.getByRole('dialog', { name: 'Roll back web?' });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Roll back' }));
    await settle();
    return dialog;
  }

  it('asks first, then starts it and follows the update', async () => {
    const client = fakeClient(deploymentWithApp());
    await mount(client);
    client.deployment.mockResolvedValue(deployingDeployment({ mode: 'update', components: [{ id: 'web', type: 'app', status: 'deploying' }] }));

    await confirmRollback();

    expect(client.rollback).toHaveBeenCalledExactlyOnceWith(PLAN_ID, 'web');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(client.deployment).toHaveBeenCalledTimes(2);
    expect(screen.getByText('Applying the plan’s changes to what runs.')).toBeTruthy();
    expect(within(item('web')).getByRole<HTMLButtonElement>('button', { name: 'Roll back' }).disabled).toBe(true);
  });

  it('shows a refusal’s detail in the dialog and keeps it open', async () => {
    const client = fakeClient(deploymentWithApp());
    client.rollback.mockRejectedValue(new ApiError(409, 'Conflict', 'web has no earlier version to go back to.'));
    await mount(client);

    const dialog = await confirmRollback();

    expect(within(dialog).getByRole('alert').textContent).toBe('Rolling back failed: web has no earlier version to go back to.');
    expect(screen.getByRole('dialog')).toBe(dialog);
  });

  it('sets the values of an app’s secrets, sending only what was typed, and never shows them', async () => {
    const client = fakeClient(deploymentWithApp({ secrets: ['API_KEY', 'SIGNING_SECRET'] }));
    await mount(client);
    expect(within(item('db')).queryByRole('button', { name: 'Set secrets' })).toBeNull();

    await fireEvent.click(within(item('web')).getByRole('button', { name: 'Set secrets' }));
    const dialog = screen.getByRole('dialog');
    const field = within(dialog).getByLabelText('API_KEY');
    expect(field.getAttribute('type')).toBe('password');
    await fireEvent.input(field, { target: { value: 'k-123' } });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await settle();

    expect(client.putSecrets).toHaveBeenCalledExactlyOnceWith(PLAN_ID, 'web', { API_KEY: 'k-123' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByText('Saved API_KEY; the next deploy passes them to web.')).toBeTruthy();
    expect(document.body.textContent).not.toContain('k-123');
  });

  it('says what was wrong when the secrets are refused, and keeps the dialog open', async () => {
    const client = fakeClient(deploymentWithApp({ secrets: ['API_KEY'] }));
    client.putSecrets.mockRejectedValue(new ApiError(409, 'Conflict', 'The secrets could not be stored: the account is not connected.'));
    await mount(client);

    await fireEvent.click(within(item('web')).getByRole('button', { name: 'Set secrets' }));
    const dialog = screen.getByRole('dialog');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await settle();
    expect(within(dialog).getByRole('alert').textContent).toBe('Type a value for at least one secret.');
    expect(client.putSecrets).not.toHaveBeenCalled();

    await fireEvent.input(within(dialog).getByLabelText('API_KEY'), { target: { value: 'k' } });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await settle();

    expect(within(dialog).getByRole('alert').textContent).toBe(
      'Saving the secrets failed: The secrets could not be stored: the account is not connected.',
    );
    expect(screen.getByRole('dialog')).toBe(dialog);
  });

  it('has no serious or critical accessibility problems', async () => {
    await mount(fakeClient(deploymentWithApp()));

    vi.useRealTimers();
    const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
    expect(
      results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => violation.id),
    ).toEqual([]);
  });
});
