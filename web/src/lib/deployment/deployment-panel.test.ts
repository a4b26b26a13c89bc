import { fireEvent, render, screen, within } from '@testing-library/svelte';
import axe from 'axe-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import DeploymentPanel from './deployment-panel.svelte';
import { FAST_POLL_MS, SLOW_POLL_MS } from './deployment.svelte.ts';
import { BACKUP_POLL_MS } from './backups.svelte.ts';
import { formatDateTime } from './format.ts';
import { browserTimeZone, toLocalInput } from './point-in-time.ts';
import {
  at,
  backup,
  CREDENTIALS,
  deployingDeployment,
  failedDeployment,
  fakeClient,
  fakeClipboard,
  physicalBackup,
  PLAN_ID,
  polyfillDialog,
  RECOVERY_WINDOW,
  runningDeployment,
  settle,
  T0,
} from './test-fakes.ts';

beforeAll(polyfillDialog);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0 + 60_000);
});

afterEach(() => {
  vi.useRealTimers();
});

async function mount(client: ReturnType<typeof fakeClient>, props: Record<string, unknown> = {}) {
  const result = render(DeploymentPanel, { planId: PLAN_ID, planName: 'orders', mode: 'local', client, ...props });
  await settle();
  return result;
}

function stepRow(name: string): HTMLElement {
  const steps = screen.getByRole('list', { name: /steps/i });
  const row = within(steps)
    .getAllByRole('listitem')
    .find((item) => item.querySelector('.name')?.textContent === name);
  if (!row) throw new Error(`no step "${name}"`);
  return row;
}

async function seriousViolations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help}`);
}

describe('the Deployment panel', () => {
  it('is a region named Deployment with the status in words', async () => {
    await mount(fakeClient());

    const region = screen.getByRole('region', { name: 'Deployment' });
    expect(within(region).getByText('Running', { exact: true })).toBeTruthy();
  });

  it('lists the steps with readable names, state words and durations', async () => {
    await mount(fakeClient());

    const configure = stepRow('Start configuring');
    expect(configure.textContent).toContain('Succeeded');
    expect(configure.textContent).toContain('1.2 s');
    expect(stepRow('Prepare the plan').textContent).toContain('17 ms');
    expect(stepRow('Mark as running').dataset.state).toBe('succeeded');
  });

  it('ticks the running step’s duration and lists the steps still to come as pending', async () => {
    vi.setSystemTime(T0 + 3_000);
    await mount(fakeClient(deployingDeployment()));

    expect(stepRow('Preflight checks').textContent).toContain('In progress');
    expect(stepRow('Preflight checks').textContent).toContain('1.8 s');
    await vi.advanceTimersByTimeAsync(500);
    expect(stepRow('Preflight checks').textContent).toContain('2.3 s');
    expect(stepRow('Install PostgreSQL').textContent).toContain('Pending');
    expect(stepRow('Prepare the plan').textContent).toContain('1.2 s');
  });

  it('shows why a deployment failed in a visible alert, and the failed step’s error', async () => {
    await mount(fakeClient(failedDeployment()));

    const alert = screen.getAllByRole('alert').find((element) => element.textContent.includes('Deployment failed'));
    expect(alert?.textContent).toContain('PostgreSQL 17 is not installed on this machine');
    expect(alert?.textContent).toContain('Step: Preflight checks');
    const preflight = stepRow('Preflight checks');
    expect(preflight.textContent).toContain('Failed');
    expect(preflight.textContent).toContain('Error: PostgreSQL 17 is not installed');
    expect(screen.queryByLabelText('Connection string')).toBeNull();
  });

  it('shows the connection string without a password and copies it', async () => {
    const writeText = fakeClipboard();
    await mount(fakeClient());

    const field = screen.getByLabelText<HTMLInputElement>('Connection string');
    const expected = `postgresql://app@127.0.0.1:36773/app?sslmode=verify-full&sslrootcert=cloudseed-${PLAN_ID}-ca.crt`;
    expect(field.value).toBe(expected);
    expect(field.readOnly).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Copy connection string' }));
    await settle();

    expect(writeText).toHaveBeenCalledWith(expected);
    expect(screen.getByText('Copied')).toBeTruthy();
  });

  it('downloads the plan’s CA certificate under the name the connection string expects, without showing the password', async () => {
    const client = fakeClient();
    await mount(client);
    const saved: { name: string; text: Promise<string> }[] = [];
    URL.createObjectURL = (blob: Blob) => `blob:${saved.push({ name: '', text: blob.text() }) - 1}`;
    URL.revokeObjectURL = () => undefined;
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      const entry = saved[Number(this.href.split(':').pop())];
      if (entry) entry.name = this.download;
    });

    await fireEvent.click(screen.getByRole('button', { name: 'Download CA certificate' }));
    await settle();

    expect(client.credentials).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    expect(click).toHaveBeenCalledOnce();
    expect(saved[0]?.name).toBe(CREDENTIALS.caFileName);
    expect(await saved[0]?.text).toBe(CREDENTIALS.caCertificate);
    expect(document.body.textContent).not.toContain(CREDENTIALS.password);
    click.mockRestore();
  });

  it('fetches the password only when asked to show it, and hides it again', async () => {
    const client = fakeClient();
    await mount(client);

    expect(client.credentials).not.toHaveBeenCalled();
    expect(document.body.textContent).not.toContain(CREDENTIALS.password);

    await fireEvent.click(screen.getByRole('button', { name: 'Show password' }));
    await settle();
    expect(client.credentials).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    expect(document.body.textContent).toContain(CREDENTIALS.password);
    expect(screen.getByRole('button', { name: 'Copy password' })).toBeTruthy();

    await fireEvent.click(screen.getByRole('button', { name: 'Hide password' }));
    await settle();
    expect(document.body.textContent).not.toContain(CREDENTIALS.password);
    expect(screen.getByRole('button', { name: 'Show password' })).toBeTruthy();
  });

  it('names every member of a cluster for the leader, and the AWS load balancer as a second string with its own copy button', async () => {
    const writeText = fakeClipboard();
    const members = [
      { host: '10.0.1.5', port: 5432 },
      { host: '10.0.1.6', port: 5432 },
      { host: '10.0.1.7', port: 5432 },
    ];
    const loadBalancer = { host: 'cs-0123456789abcdef01234567-1f2e3d4c5b6a7980.elb.eu-central-1.amazonaws.com', port: 5432 };
    await mount(
      fakeClient(runningDeployment({ endpoint: { host: '10.0.1.5', port: 5432, database: 'app', username: 'app', members, loadBalancer } })),
    );

    const ca = `sslmode=verify-full&sslrootcert=cloudseed-${PLAN_ID}-ca.crt`;
    expect(screen.getByLabelText<HTMLInputElement>('Connection string').value).toBe(
      `postgresql://app@10.0.1.5:5432,10.0.1.6:5432,10.0.1.7:5432/app?${ca}&target_session_attrs=read-write`,
    );
    const balancer = screen.getByLabelText<HTMLInputElement>('Through the load balancer, inside the VPC');
    expect(balancer.value).toBe(`postgresql://app@${loadBalancer.host}:5432/app?${ca}`);
    await fireEvent.click(screen.getByRole('button', { name: 'Copy load balancer connection string' }));
    await settle();
    expect(writeText).toHaveBeenCalledWith(balancer.value);
  });

  it('offers no load balancer string where there is none', async () => {
    await mount(fakeClient());
    expect(screen.queryByLabelText('Through the load balancer, inside the VPC')).toBeNull();
  });

  it('lists a cluster’s nodes with role, address and health in words', async () => {
    await mount(
      fakeClient(
        runningDeployment({
          nodes: [
            { component: 'db', name: 'db-0', role: 'primary', host: '10.0.1.5', port: 5432, healthy: true },
            { component: 'db', name: 'db-1', role: 'replica', host: '10.0.1.6', port: 5432, healthy: false, detail: 'replication lag 42 s' },
          ],
        }),
      ),
    );

    const nodes = screen.getByRole('table', { name: 'Nodes' });
    const replica = within(nodes).getByRole('row', { name: /db-1/ });
    expect(replica.textContent).toContain('Replica');
    expect(replica.textContent).toContain('10.0.1.6:5432');
    expect(replica.textContent).toContain('Unhealthy');
    expect(replica.textContent).toContain('replication lag 42 s');
    expect(within(nodes).getByRole('row', { name: /db-0/ }).textContent).toContain('Healthy');
  });

  it('polls every second while deploying and every 10 s once it runs', async () => {
    const client = fakeClient(deployingDeployment());
    await mount(client);
    expect(client.deployment).toHaveBeenCalledTimes(1);

    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(client.deployment).toHaveBeenCalledTimes(2);
    client.deployment.mockResolvedValue(runningDeployment());
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(client.deployment).toHaveBeenCalledTimes(3);

    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS - 100);
    expect(client.deployment).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(client.deployment).toHaveBeenCalledTimes(4);
  });

  it('stops polling when it goes away', async () => {
    const client = fakeClient(deployingDeployment());
    const { unmount } = await mount(client);

    unmount();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);
    expect(client.deployment).toHaveBeenCalledTimes(1);
  });

  it('refreshes at once when the editor says a deploy started, and tells it the status', async () => {
    const client = fakeClient();
    const onstatus = vi.fn();
    const { rerender } = await mount(client, { onstatus, deployStarted: 0 });
    expect(onstatus).toHaveBeenLastCalledWith('running', undefined);

    client.deployment.mockResolvedValue(deployingDeployment({ mode: 'update' }));
    await rerender({ deployStarted: Date.now() });
    await settle();

    expect(client.deployment).toHaveBeenCalledTimes(2);
    expect(onstatus).toHaveBeenLastCalledWith('deploying', undefined);
    expect(screen.getByText('Applying the plan’s changes to what runs.')).toBeTruthy();
  });

  it('tells the editor when the plan is gone after a teardown', async () => {
    const client = fakeClient(
      deployingDeployment({ status: 'deleting', mode: 'teardown', steps: [{ name: 'Destroy', status: 'running', startedAt: at(0) }] }),
    );
    const ongone = vi.fn();
    await mount(client, { ongone });
    expect(stepRow('Remove servers, network rules and secrets').textContent).toContain('In progress');
    expect(stepRow('Delete the plan').textContent).toContain('Pending');

    client.deployment.mockRejectedValue(new ApiError(404, 'Not Found', `There is no plan ${PLAN_ID}.`));
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    await settle();

    expect(ongone).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 2);
    expect(client.deployment).toHaveBeenCalledTimes(2);
  });

  it('links to the Step Functions console on AWS only', async () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:cloudseed-deploy:abc';
    await mount(fakeClient(runningDeployment({ executionArn: arn })), { mode: 'aws', region: 'eu-west-1' });

    const link = screen.getByRole('link', { name: 'View in Step Functions console' });
    expect(link.getAttribute('href')).toBe(`https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`);
  });

  it('has no console link locally', async () => {
    await mount(fakeClient());

    expect(screen.queryByRole('link', { name: /Step Functions/ })).toBeNull();
  });

  it('says what to do when nothing is deployed yet', async () => {
    await mount(fakeClient({ status: 'not_deployed', steps: [] }));

    expect(screen.getByRole('region', { name: 'Deployment' }).textContent).toContain('Not deployed yet.');
    expect(screen.queryByRole('region', { name: 'Backups' })).toBeNull();
  });

  it('shows a failed refresh in an alert and keeps what it had', async () => {
    const client = fakeClient();
    await mount(client);
    client.deployment.mockRejectedValue(new ApiError(500, 'Internal Server Error', 'Something went wrong.'));

    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    await settle();

    expect(screen.getByRole('alert').textContent).toContain('Refreshing the deployment failed: Something went wrong.');
    expect(screen.getByLabelText('Connection string')).toBeTruthy();
  });

  it('has no serious or critical accessibility problems while running', async () => {
    await mount(
      fakeClient(runningDeployment(), [
        physicalBackup(),
        backup(),
        backup({
          backupId: '20261124T030000Z-0000beef',
          trigger: 'schedule',
          status: 'failed',
          error: 'DumpBackup: disk full',
          validation: { status: 'skipped' },
        }),
      ]),
    );
    await fireEvent.click(screen.getByRole('button', { name: 'Show password' }));
    await settle();

    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
  });

  it('has no serious or critical accessibility problems when failed or deploying', async () => {
    const { unmount } = await mount(fakeClient(failedDeployment()));
    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
    unmount();

    vi.useFakeTimers();
    await mount(fakeClient(deployingDeployment()));
    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
  });
});

describe('the Backups region', () => {
  it('shows the schedule, the next run and each backup with size and validation', async () => {
    await mount(fakeClient(runningDeployment(), [backup()]));

    const region = screen.getByRole('region', { name: 'Backups' });
    expect(region.textContent).toContain('Every day at 03:00 UTC');
    expect(region.textContent).toContain('Next run:');
    const row = within(region).getAllByRole('row')[1];
    expect(row?.textContent).toContain('Succeeded');
    expect(row?.textContent).toContain('1.5 KiB');
    expect(row?.textContent).toContain('Passed');
    expect(row?.textContent).toContain('3 tables, 120 rows match');
  });

  it('says what kind each backup is, and offers the download only for a logical export', async () => {
    await mount(
      fakeClient(runningDeployment(), [
        physicalBackup({ backupId: '20261124T120000Z-0000000c', type: 'incr', label: '20261124-094905F_20261124-120000I' }),
        physicalBackup({ backupId: '20261124T110000Z-0000000b', type: 'diff', label: '20261124-094905F_20261124-110000D' }),
        physicalBackup(),
        backup(),
      ]),
    );

    const rows = within(screen.getByRole('region', { name: 'Backups' }))
      .getAllByRole('row')
      .slice(1);
    const typeOf = (row: HTMLElement | undefined) => row?.querySelectorAll('td')[0]?.textContent.trim().replace(/\s+/g, ' ');
    expect(rows.map(typeOf)).toEqual([
      'Incremental 20261124-094905F_20261124-120000I',
      'Differential 20261124-094905F_20261124-110000D',
      'Full 20261124-094905F',
      'Logical export',
    ]);
    expect(rows.map((row) => within(row).queryByRole('button', { name: 'Download' }) !== null)).toEqual([false, false, false, true]);
    expect(rows.map((row) => within(row).queryByRole('button', { name: 'Restore' }) !== null)).toEqual([true, true, true, true]);
  });

  it('takes a logical export on demand', async () => {
    const client = fakeClient(runningDeployment(), []);
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Logical export' }));
    await settle();

    expect(client.runBackup).toHaveBeenCalledExactlyOnceWith(PLAN_ID, { kind: 'logical' });
    expect(client.backups).toHaveBeenCalledTimes(2);
  });

  it('runs a backup now and follows it every 2 s until it finishes', async () => {
    const client = fakeClient(runningDeployment(), []);
    await mount(client);
    const running = backup({ backupId: '20261124T100000Z-00000001', status: 'running', validation: { status: 'pending' } });
    client.backups.mockResolvedValue([running]);

    await fireEvent.click(screen.getByRole('button', { name: 'Run backup now' }));
    await settle();
    expect(client.runBackup).toHaveBeenCalledExactlyOnceWith(PLAN_ID, { type: 'full' });
    expect(client.backups).toHaveBeenCalledTimes(2);
    expect(screen.getByRole('region', { name: 'Backups' }).textContent).toContain('In progress');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Run backup now' }).disabled).toBe(true);

    await vi.advanceTimersByTimeAsync(BACKUP_POLL_MS);
    expect(client.backups).toHaveBeenCalledTimes(3);
    client.backups.mockResolvedValue([{ ...running, status: 'succeeded', sizeBytes: 2048, validation: { status: 'passed' } }]);
    await vi.advanceTimersByTimeAsync(BACKUP_POLL_MS);
    expect(client.backups).toHaveBeenCalledTimes(4);
    await settle();
    expect(screen.getByRole('region', { name: 'Backups' }).textContent).toContain('2.0 KiB');

    await vi.advanceTimersByTimeAsync(BACKUP_POLL_MS * 3);
    expect(client.backups).toHaveBeenCalledTimes(4);
  });

  it('shows why a backup could not start', async () => {
    const client = fakeClient(runningDeployment(), []);
    client.runBackup.mockRejectedValue(new ApiError(409, 'Conflict', 'A backup of this plan is already running.'));
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Run backup now' }));
    await settle();

    expect(within(screen.getByRole('region', { name: 'Backups' })).getByRole('alert').textContent).toBe(
      'Starting the backup failed: A backup of this plan is already running.',
    );
  });

  it('restores only after the user confirms in the dialog', async () => {
    const client = fakeClient(runningDeployment(), [backup()]);
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Restore' }));
    await settle();
    const dialog = screen.getByRole('dialog', { name: /^Restore backup from .+\?$/ });
    expect(dialog.textContent).toContain('This replaces the current data of “orders”');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(client.restoreBackup).not.toHaveBeenCalled();

    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await settle();
    expect(client.restoreBackup).not.toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();

    await fireEvent.click(screen.getByRole('button', { name: 'Restore' }));
    await settle();
    client.deployment.mockResolvedValue(
      runningDeployment({ status: 'deploying', mode: 'restore', steps: [{ name: 'RestoreBackup', status: 'running', startedAt: at(59_000) }] }),
    );
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Restore' }));
    await settle();

    expect(client.restoreBackup).toHaveBeenCalledExactlyOnceWith(PLAN_ID, '20261124T094905Z-88300bce');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(stepRow('Restore the backup').textContent).toContain('In progress');
    expect(stepRow('Finish the restore').textContent).toContain('Pending');
    expect(screen.getByText(/Restoring the database/)).toBeTruthy();
  });

  it('keeps the dialog open with the reason when a restore is refused', async () => {
    const client = fakeClient(runningDeployment(), [backup()]);
    client.restoreBackup.mockRejectedValue(
      new ApiError(409, 'Conflict', 'The plan is not running; a backup can only be restored into a running deployment.'),
    );
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Restore' }));
    await settle();
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Restore' }));
    await settle();

    expect(within(screen.getByRole('dialog')).getByRole('alert').textContent).toContain('a backup can only be restored into a running deployment');
  });

  it('offers Restore only for backups that succeeded, and only while running', async () => {
    await mount(
      fakeClient(failedDeployment(), [
        backup(),
        backup({ backupId: '20261124T030000Z-0000beef', status: 'failed', validation: { status: 'skipped' } }),
      ]),
    );

    const buttons = screen.getAllByRole<HTMLButtonElement>('button', { name: 'Restore' });
    expect(buttons).toHaveLength(1);
    expect(buttons[0]?.disabled).toBe(true);
  });
});

describe('the Point-in-time recovery region', () => {
  const region = () => screen.getByRole('region', { name: 'Point-in-time recovery' });
  const restoreToPoint = () => within(region()).getByRole<HTMLButtonElement>('button', { name: 'Restore to a point in time' });

  it('shows the window in local time, with the exact UTC instant in a tooltip', async () => {
    const client = fakeClient();
    await mount(client);

    expect(client.recoveryWindow).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    const [earliest, latest] = within(region()).getAllByText((_, element) => element?.tagName === 'TIME');
    expect(earliest?.textContent).toBe(formatDateTime(RECOVERY_WINDOW.earliest, { seconds: true }));
    expect(earliest?.getAttribute('title')).toBe('2026-11-24 09:49:05 UTC');
    expect(latest?.getAttribute('datetime')).toBe(RECOVERY_WINDOW.latest);
    expect(latest?.getAttribute('title')).toBe('2026-11-24 09:49:45 UTC');
    expect(region().textContent).toMatch(/Any second from .+ to .+/);
    expect(restoreToPoint().disabled).toBe(false);
  });

  it('loads the window again with every refresh of the deployment, as it moves', async () => {
    const client = fakeClient();
    // Each answer is a new document, as the API's are.
    client.deployment.mockImplementation(() => Promise.resolve(runningDeployment()));
    await mount(client);
    client.recoveryWindow.mockResolvedValue({ component: 'db', earliest: RECOVERY_WINDOW.earliest, latest: at(55_000) });

    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    await settle();

    expect(client.recoveryWindow).toHaveBeenCalledTimes(2);
    expect(
      within(region())
        .getAllByText((_, element) => element?.tagName === 'TIME')[1]
        ?.getAttribute('datetime'),
    ).toBe(at(55_000));
  });

  it('says the window opens with the first backup, and offers no restore until then', async () => {
    const client = fakeClient();
    client.recoveryWindow.mockResolvedValue({ component: 'db', earliest: null, latest: null });
    await mount(client);

    expect(region().textContent).toContain('Available after the first backup.');
    expect(restoreToPoint().disabled).toBe(true);
  });

  it('is not there unless the plan runs with backups on', async () => {
    const failed = fakeClient(failedDeployment());
    const { unmount } = await mount(failed);
    expect(screen.queryByRole('region', { name: 'Point-in-time recovery' })).toBeNull();
    expect(failed.recoveryWindow).not.toHaveBeenCalled();
    unmount();

    const withoutBackups = fakeClient(runningDeployment({ backup: undefined }));
    await mount(withoutBackups);
    expect(screen.queryByRole('region', { name: 'Point-in-time recovery' })).toBeNull();
  });

  it('restores to the latest time after the plan is confirmed, then follows the restore’s steps', async () => {
    const client = fakeClient();
    await mount(client);

    await fireEvent.click(restoreToPoint());
    await settle();
    const dialog = screen.getByRole('dialog', { name: 'Restore “orders” to a point in time?' });
    expect(within(dialog).getByLabelText<HTMLInputElement>('Restore to').value).toBe(toLocalInput(RECOVERY_WINDOW.latest, browserTimeZone()));
    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
    vi.useFakeTimers();
    vi.setSystemTime(T0 + 60_000);

    client.deployment.mockResolvedValue(
      runningDeployment({
        status: 'deploying',
        mode: 'restore',
        endedAt: undefined,
        steps: [{ name: 'RestoreToPoint', status: 'running', startedAt: at(59_000) }],
      }),
    );
    await fireEvent.click(within(dialog).getByRole('checkbox', { name: /Rewind “orders”/ }));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Restore to this time' }));
    await settle();

    expect(client.restoreToPoint).toHaveBeenCalledExactlyOnceWith(PLAN_ID, RECOVERY_WINDOW.latest);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(within(screen.getByRole('region', { name: 'Deployment' })).getByText('Deploying', { exact: true })).toBeTruthy();
    expect(stepRow('Restore to the point in time').textContent).toContain('In progress');
    expect(stepRow('Rebuild replicas').textContent).toContain('Pending');
    expect(stepRow('Start a full backup').textContent).toContain('Pending');
    expect(screen.getByText(/Restoring the database/)).toBeTruthy();
  });

  it('shows a refused restore in the dialog and keeps it open', async () => {
    const client = fakeClient();
    client.restoreToPoint.mockRejectedValue(new ApiError(409, 'Conflict', 'A deployment of this plan is running; try again when it has finished.'));
    await mount(client);

    await fireEvent.click(restoreToPoint());
    await settle();
    const dialog = screen.getByRole('dialog');
    await fireEvent.click(within(dialog).getByRole('checkbox', { name: /Rewind “orders”/ }));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Restore to this time' }));
    await settle();

    expect(within(dialog).getByRole('alert').textContent).toContain('A deployment of this plan is running');
    expect(screen.getByRole('dialog')).toBe(dialog);
  });
});

describe('stopping and starting the plan', () => {
  const stoppedDeployment = () =>
    runningDeployment({
      status: 'stopped',
      mode: 'stop',
      steps: [
        { name: 'StopNodes', status: 'succeeded', startedAt: at(0), endedAt: at(1200) },
        { name: 'MarkStopped', status: 'succeeded', startedAt: at(1200), endedAt: at(1250) },
      ],
    });

  it('stops a running plan after asking, then follows the stop in the steps', async () => {
    const client = fakeClient();
    await mount(client, { cloud: 'aws', mode: 'aws' });

    await fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await settle();
    const dialog = screen.getByRole('dialog', { name: 'Stop orders?' });
    expect(dialog.textContent).toContain('while stopped they cost only their disks');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await settle();
    expect(client.stopPlan).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await settle();
    client.deployment.mockResolvedValue(
      runningDeployment({ status: 'stopping', mode: 'stop', steps: [{ name: 'StopNodes', status: 'running', startedAt: at(59_000) }] }),
    );
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Stop' }));
    await settle();

    expect(client.stopPlan).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(within(screen.getByRole('region', { name: 'Deployment' })).getByText('Stopping', { exact: true })).toBeTruthy();
    expect(stepRow('Stop the servers').textContent).toContain('In progress');
    expect(stepRow('Mark as stopped').textContent).toContain('Pending');
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
  });

  it('keeps the dialog open with the reason when a stop is refused', async () => {
    const client = fakeClient();
    client.stopPlan.mockRejectedValue(new ApiError(409, 'Conflict', 'The plan is deploying; wait for it to finish.'));
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await settle();
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Stop' }));
    await settle();

    expect(within(screen.getByRole('dialog')).getByRole('alert').textContent).toContain('The plan is deploying; wait for it to finish.');
  });

  it('shows a stopped plan in grey with Start, which starts it again', async () => {
    const client = fakeClient(stoppedDeployment());
    await mount(client);

    const region = screen.getByRole('region', { name: 'Deployment' });
    expect(within(region).getByText('Stopped', { exact: true })).toBeTruthy();
    expect(screen.getByText(/Stopped: the database servers keep their data\./)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Back up now' })).toBeNull();
    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
    vi.useFakeTimers();

    client.deployment.mockResolvedValue(
      runningDeployment({ status: 'starting', mode: 'start', steps: [{ name: 'Render', status: 'running', startedAt: at(59_000) }] }),
    );
    await fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await settle();

    expect(client.startPlan).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    expect(within(region).getByText('Starting', { exact: true })).toBeTruthy();
    expect(stepRow('Launch servers').textContent).toContain('Pending');
  });

  it('says why a start was refused', async () => {
    const client = fakeClient(stoppedDeployment());
    client.startPlan.mockRejectedValue(new ApiError(409, 'Conflict', 'Only a stopped plan can be started; this one is deploying.'));
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await settle();

    expect(screen.getByRole('alert').textContent).toContain('Only a stopped plan can be started');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Start' }).disabled).toBe(false);
  });
});

describe('the plan’s roles', () => {
  const withRoles = () =>
    runningDeployment({
      endpoint: {
        ...runningDeployment().endpoint!,
        databases: ['app', 'analytics'],
        roles: [
          { name: 'reporting', access: 'readonly' },
          { name: 'etl', access: 'readwrite' },
        ],
      },
    });

  it('lists the roles and databases, and shows a role’s new password once, with its connection string', async () => {
    const client = fakeClient(withRoles());
    await mount(client);

    const roles = screen.getByRole('list', { name: 'Roles' });
    expect(
      within(roles)
        .getAllByRole('listitem')
        .map((item) => item.textContent?.replace(/\s+/g, ' ').trim()),
    ).toEqual(['reporting reads every table New password for reporting', 'etl reads and writes rows New password for etl']);
    expect(screen.getByText(/Databases:/).textContent).toBe('Databases: app, analytics.');
    expect(screen.queryByText('Q7kz9TqW2mXa4LrB8vNc3HsJ6yPd5GfE')).toBeNull();

    await fireEvent.click(screen.getByRole('button', { name: 'New password for reporting' }));
    await settle();

    expect(client.rolePassword).toHaveBeenCalledExactlyOnceWith(PLAN_ID, 'reporting');
    const shown = screen.getAllByRole('status').find((element) => element.textContent?.includes('The new password of reporting is shown only now'));
    expect(shown).toBeTruthy();
    expect(screen.getByText('Q7kz9TqW2mXa4LrB8vNc3HsJ6yPd5GfE')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy reporting’s connection string' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Copy password of reporting' })).toBeTruthy();
    vi.useRealTimers();
    expect(await seriousViolations()).toEqual([]);
    vi.useFakeTimers();
    await fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    await settle();
    expect(screen.queryByText('Q7kz9TqW2mXa4LrB8vNc3HsJ6yPd5GfE')).toBeNull();
  });

  it('says why a password could not be set', async () => {
    const client = fakeClient(withRoles());
    client.rolePassword.mockRejectedValue(new ApiError(409, 'Conflict', 'The plan is stopped; a role’s password is set while it runs.'));
    await mount(client);

    await fireEvent.click(screen.getByRole('button', { name: 'New password for etl' }));
    await settle();

    expect(screen.getByRole('alert').textContent).toContain('The plan is stopped; a role’s password is set while it runs.');
  });

  it('shows no roles where the plan has none', async () => {
    await mount(fakeClient());
    expect(screen.queryByRole('list', { name: 'Roles' })).toBeNull();
  });
});
