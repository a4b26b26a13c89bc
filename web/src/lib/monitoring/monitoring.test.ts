import { fireEvent, render, screen, within } from '@testing-library/svelte';
import axe from 'axe-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import DeploymentPanel from '../deployment/deployment-panel.svelte';
import { fakeClient, PLAN_ID, runningDeployment, settle, T0 } from '../deployment/test-fakes.ts';
import { DEFAULT_ALERT_SETTINGS } from '@cloudseed/shared/alerts/alerts';
import { CLOUD_SERVER_LOG_POLL_MS, SERVER_LOG_POLL_MS } from './activity.svelte.ts';
import { ALERTS_POLL_MS } from './alerts.svelte.ts';
import PlanSparkline from './plan-sparkline.svelte';
import { CHART_METRICS, CLOUD_METRICS_POLL_MS, formatMetric, latestAndPeak, METRICS_POLL_MS } from './metrics.svelte.ts';

// The deployment view's Monitoring tab against a fake API: which requests it makes (range, step,
// node, search, order), what it shows of the answers, that it polls only while open, and that axe
// finds nothing serious in it.

const NOW = T0 + 60_000;
const deployed = () => runningDeployment({ components: [{ id: 'db', type: 'postgres', status: 'running' }] });

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});

afterEach(() => {
  vi.useRealTimers();
});

async function openMonitoring(client = fakeClient(deployed())) {
  render(DeploymentPanel, { planId: PLAN_ID, planName: 'orders', mode: 'local', client });
  await settle();
  await fireEvent.click(screen.getByRole('tab', { name: 'Monitoring' }));
  await settle();
  return client;
}

const figure = (title: string): HTMLElement => {
  const found = screen.getAllByRole('figure').find((element) => element.querySelector('.title')?.textContent === title);
  if (!found) throw new Error(`no chart ${title}`);
  return found;
};

describe('the Monitoring tab', () => {
  it('is offered once a database is deployed, and not before', async () => {
    render(DeploymentPanel, { planId: PLAN_ID, mode: 'local', client: fakeClient(runningDeployment({ components: [] })) });
    await settle();
    expect(screen.queryByRole('tab', { name: 'Monitoring' })).toBeNull();
  });

  it('asks for the last hour in 10-s steps and charts the primary’s figures', async () => {
    const client = await openMonitoring();
    const to = Math.floor(NOW / 1000);
    expect(client.metrics).toHaveBeenCalledWith(PLAN_ID, { names: CHART_METRICS, from: to - 3600, to, step: 10 });
    expect(CHART_METRICS.length).toBeLessThanOrEqual(12);
    expect(screen.getByRole('tab', { name: 'Monitoring' }).getAttribute('aria-selected')).toBe('true');
    // The primary's CPU climbs 1 % a step and is 359 % in the last of 360; half the range is empty.
    expect(figure('CPU').textContent).toContain('now 359 %');
    expect(Number(figure('CPU').dataset.points)).toBe(180);
    expect(figure('Connections').textContent).toMatch(/Active\s+now\s+359.*Max\s+now\s+100/s);
    // A two-node cluster: its lag is charted too.
    expect(figure('Replication lag')).toBeTruthy();
  });

  it('shows another node, and another range, when asked', async () => {
    const client = await openMonitoring();
    await fireEvent.change(screen.getByLabelText('Node'), { target: { value: 'db-1' } });
    await settle();
    expect(figure('CPU').textContent).toContain('now 5 %');

    const day = screen.getByRole('button', { name: '24h' });
    await fireEvent.click(day);
    await settle();
    const to = Math.floor(NOW / 1000);
    expect(client.metrics).toHaveBeenLastCalledWith(PLAN_ID, { names: CHART_METRICS, from: to - 86_400, to, step: 300 });
    expect(day.getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('button', { name: '1h' }).getAttribute('aria-pressed')).toBe('false');
  });

  it('stays live while open, and stops asking once the overview is back', async () => {
    const client = await openMonitoring();
    expect(client.metrics).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(METRICS_POLL_MS);
    await settle();
    expect(client.metrics).toHaveBeenCalledTimes(2);

    await fireEvent.click(screen.getByRole('tab', { name: 'Overview' }));
    await settle();
    const [metricsCalls, logCalls] = [client.metrics.mock.calls.length, client.serverLog.mock.calls.length];
    await vi.advanceTimersByTimeAsync(METRICS_POLL_MS * 3);
    expect(client.metrics).toHaveBeenCalledTimes(metricsCalls);
    expect(client.serverLog).toHaveBeenCalledTimes(logCalls);
    expect(screen.queryAllByRole('figure')).toEqual([]);
  });

  it('follows a cloud plan less often: a point a minute, and a log read on the node', async () => {
    const client = fakeClient(deployed());
    render(DeploymentPanel, { planId: PLAN_ID, mode: 'aws', cloud: 'aws', client });
    await settle();
    await fireEvent.click(screen.getByRole('tab', { name: 'Monitoring' }));
    await settle();
    const [metrics, logs] = [client.metrics.mock.calls.length, client.serverLog.mock.calls.length];
    await vi.advanceTimersByTimeAsync(METRICS_POLL_MS);
    expect(client.metrics.mock.calls.length).toBe(metrics);
    expect(client.serverLog.mock.calls.length).toBe(logs);
    await vi.advanceTimersByTimeAsync(CLOUD_SERVER_LOG_POLL_MS - METRICS_POLL_MS);
    expect(client.serverLog.mock.calls.length).toBe(logs + 1);
    await vi.advanceTimersByTimeAsync(CLOUD_METRICS_POLL_MS - CLOUD_SERVER_LOG_POLL_MS);
    expect(client.metrics.mock.calls.length).toBe(metrics + 1);
  });

  it('lists the top queries, sorts them as chosen and resets the counts', async () => {
    const client = await openMonitoring();
    const table = screen.getByRole('table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]!.textContent).toContain('SELECT * FROM orders WHERE id = $1');
    expect(rows[1]!.textContent).toContain('1,200');
    expect(rows[1]!.textContent).toContain('2.40 s');
    expect(rows[1]!.textContent).toContain('99.0 %');
    expect(client.topQueries).toHaveBeenCalledWith(PLAN_ID, 'db', 'total_time', 20);

    await fireEvent.change(screen.getByLabelText('Sort by'), { target: { value: 'calls' } });
    await settle();
    expect(client.topQueries).toHaveBeenLastCalledWith(PLAN_ID, 'db', 'calls', 20);

    await fireEvent.click(screen.getByRole('button', { name: 'Reset counts' }));
    await settle();
    expect(client.resetQueries).toHaveBeenCalledWith(PLAN_ID, 'db');
    expect(client.topQueries).toHaveBeenCalledTimes(3);
  });

  it('shows the log with slow statements marked, searches it and reads another node', async () => {
    const client = await openMonitoring();
    const log = screen.getByRole('log', { name: 'PostgreSQL log of db-0' });
    expect(log.textContent).toContain('database system is ready');
    const slow = log.querySelector('.slow');
    expect(slow?.textContent).toContain('slow · 1.5 s');
    expect(slow?.textContent).toContain('SELECT pg_sleep(1.5)');
    expect(log.querySelector('.serious')?.textContent).toContain("PASSWORD '********'");

    await fireEvent.input(screen.getByRole('searchbox', { name: 'Search the log' }), { target: { value: ' pg_sleep ' } });
    await fireEvent.submit(screen.getByRole('search'));
    await settle();
    expect(client.serverLog).toHaveBeenLastCalledWith(PLAN_ID, 'db', { node: 'db-0', tail: 300, search: 'pg_sleep' });
    expect(within(log).getAllByText(/pg_sleep/)).toHaveLength(1);
    expect(log.textContent).not.toContain('ready');

    const logSection = screen.getByRole('region', { name: 'PostgreSQL log' });
    await fireEvent.change(within(logSection).getByLabelText('Log of'), { target: { value: 'db-1' } });
    await settle();
    expect(client.serverLog).toHaveBeenLastCalledWith(PLAN_ID, 'db', { node: 'db-1', tail: 300, search: 'pg_sleep' });
    expect(screen.getByRole('log', { name: 'PostgreSQL log of db-1' })).toBeTruthy();

    const calls = client.serverLog.mock.calls.length;
    await vi.advanceTimersByTimeAsync(SERVER_LOG_POLL_MS);
    expect(client.serverLog.mock.calls.length).toBe(calls + 1);
  });

  it('says why when the plan runs where metrics are not collected', async () => {
    const client = fakeClient(deployed());
    client.metrics.mockRejectedValue(new ApiError(409, 'Conflict', 'The metrics could not be read: storage.objects.get was refused.'));
    await openMonitoring(client);
    expect(screen.getByText('The metrics could not be read: storage.objects.get was refused.')).toBeTruthy();
    expect(screen.queryAllByRole('figure')).toEqual([]);
  });

  it('has no serious accessibility violation', async () => {
    await openMonitoring();
    vi.useRealTimers();
    const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
    const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    expect(serious.map((violation) => `${violation.id}: ${violation.help}`)).toEqual([]);
  });
});

const FIRING = {
  alertId: 'a-1',
  key: 'disk:db:db-0',
  rule: 'disk',
  state: 'firing',
  component: 'db',
  node: 'db-0',
  message: 'db-0: disk 85 % full (alert above 80 %)',
  value: 85,
  threshold: 80,
  firedAt: '2026-11-24T09:50:00.000Z',
  notified: 'ops@example.com',
} as const;

describe('alerts', () => {
  it('show a banner on the overview that leads to the Monitoring tab, and list what fired and cleared', async () => {
    const client = fakeClient(deployed());
    client.alerts.mockResolvedValue({
      settings: DEFAULT_ALERT_SETTINGS,
      firing: [FIRING],
      cleared: [{ ...FIRING, alertId: 'a-0', state: 'cleared', message: 'db-0 is down: no answer', clearedAt: '2026-11-24T09:45:00.000Z' }],
    });
    render(DeploymentPanel, { planId: PLAN_ID, mode: 'local', client });
    await settle();
    const banner = screen.getByRole('alert');
    expect(banner.textContent).toContain('An alert is firing');
    expect(banner.textContent).toContain('db-0: disk 85 % full');
    await fireEvent.click(within(banner).getByRole('button', { name: 'See alerts' }));
    await settle();
    expect(screen.getByRole('tab', { name: 'Monitoring' }).getAttribute('aria-selected')).toBe('true');
    expect(within(screen.getByRole('list', { name: 'Firing now' })).getByText(FIRING.message)).toBeTruthy();
    expect(screen.getByRole('list', { name: 'Firing now' }).textContent).toContain('sent to ops@example.com');
    expect(within(screen.getByRole('list', { name: 'Cleared lately' })).getByText('db-0 is down: no answer')).toBeTruthy();
    // Followed every 15 s.
    const calls = client.alerts.mock.calls.length;
    await vi.advanceTimersByTimeAsync(ALERTS_POLL_MS);
    expect(client.alerts.mock.calls.length).toBe(calls + 1);
  });

  it('save the owner’s thresholds and address, and show what a 400 names beside its field', async () => {
    const client = await openMonitoring();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByText('Nothing is firing.')).toBeTruthy();
    await fireEvent.input(screen.getByLabelText('E-mail new incidents to'), { target: { value: ' ops@example.com ' } });
    await fireEvent.input(screen.getByLabelText('Alert above (% used)'), { target: { value: '70' } });
    await fireEvent.click(screen.getByLabelText('Node down'));
    await fireEvent.click(screen.getByRole('button', { name: 'Save alert settings' }));
    await settle();
    expect(client.putAlertSettings).toHaveBeenCalledWith(PLAN_ID, {
      email: 'ops@example.com',
      rules: { ...DEFAULT_ALERT_SETTINGS.rules, disk: { enabled: true, thresholdPercent: 70 }, node_down: { enabled: false } },
    });
    expect(screen.getByText('Saved.')).toBeTruthy();

    client.putAlertSettings.mockRejectedValue(
      new ApiError(400, 'Bad Request', 'The alert settings are not valid; see errors.', [
        { path: '/rules/disk/thresholdPercent', message: 'must be from 1 to 100' },
      ]),
    );
    // The browser stops 170 in a box of at most 100 itself; the API's answer is what is shown otherwise.
    await fireEvent.input(screen.getByLabelText('Alert above (% used)'), { target: { value: '170' } });
    await fireEvent.submit(screen.getByRole('form', { name: 'Alert settings' }));
    await settle();
    const field = screen.getByLabelText('Alert above (% used)');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(field.getAttribute('aria-describedby')!)?.textContent).toBe('must be from 1 to 100');
    expect(screen.getByText('Some settings are not valid; nothing was saved.')).toBeTruthy();
  });
});

describe('the dashboard sparklines', () => {
  it('draw the primary’s CPU and connections of the last hour, with the figures in their names', async () => {
    const client = fakeClient(deployed());
    render(PlanSparkline, { planId: PLAN_ID, client });
    await settle();
    const to = Math.floor(NOW / 1000);
    expect(client.metrics).toHaveBeenCalledWith(PLAN_ID, {
      names: ['cpu_percent', 'connections_active', 'connections_idle'],
      from: to - 3600,
      to,
      step: 60,
    });
    // 60 minutes, the first half empty; the primary's figures climb by one a minute, active and idle alike.
    expect(screen.getByRole('img', { name: 'CPU over the last hour: now 59 %, peak 59 %' })).toBeTruthy();
    const connections = screen.getByRole('img', { name: 'Connections over the last hour: now 118, peak 118' });
    expect(connections.querySelector('path')?.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){29}$/);
  });

  it('show a dash where metrics are not collected', async () => {
    const client = fakeClient(deployed());
    client.metrics.mockRejectedValue(new ApiError(409, 'Conflict', 'The metrics could not be read: storage.objects.get was refused.'));
    const { container } = render(PlanSparkline, { planId: PLAN_ID, client });
    await settle();
    expect(container.textContent?.trim()).toBe('—');
    expect(screen.queryAllByRole('img')).toEqual([]);
  });
});

describe('metric figures in words', () => {
  it.each([
    [12.345, 'percent', '12.3 %'],
    [0.9912, 'ratio', '99.1 %'],
    [1536, 'bytes', '1.5 KiB'],
    [3 * 1024 ** 3, 'bytes', '3.0 GiB'],
    [2_500_000, 'bytes_per_second', '2.4 MiB/s'],
    [1234.4, 'per_second', '1,234/s'],
    [45, 'seconds', '45 s'],
    [600, 'seconds', '10 min'],
    [0, 'count', '0'],
  ] as const)('%s %s reads %s', (value, unit, words) => {
    expect(formatMetric(value, unit)).toBe(words);
  });

  it('takes the latest and the peak past the gaps', () => {
    expect(latestAndPeak([null, 3, 9, 4, null])).toEqual({ latest: 4, peak: 9 });
    expect(latestAndPeak([null, null])).toEqual({});
  });
});
