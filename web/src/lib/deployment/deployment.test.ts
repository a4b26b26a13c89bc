import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, SignedOut } from '../api/client.ts';
import type { Deployment } from '../api/types.ts';
import { DeploymentState, FAST_POLL_MS, SLOW_POLL_MS, waitUntilGone } from './deployment.svelte.ts';
import { FakeDocument } from '../test-fakes.ts';
import { deployingDeployment, fakeClient, failedDeployment, PLAN_ID, runningDeployment } from './test-fakes.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('DeploymentState', () => {
  it('asks again after a request already out when refreshed, so a just-started deploy shows', async () => {
    let answer: (deployment: Deployment) => void = () => undefined;
    const client = fakeClient();
    client.deployment.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const state = new DeploymentState(client, PLAN_ID);

    const first = state.refresh();
    client.deployment.mockResolvedValue(deployingDeployment());
    const second = state.refresh();
    answer(runningDeployment());
    await Promise.all([first, second]);

    expect(client.deployment).toHaveBeenCalledTimes(2);
    expect(state.status).toBe('deploying');
    expect(state.interval).toBe(FAST_POLL_MS);
  });

  it('tells the status once per change', async () => {
    const client = fakeClient();
    const onstatus = vi.fn();
    const state = new DeploymentState(client, PLAN_ID, { onstatus });

    await state.refresh();
    await state.refresh();
    client.deployment.mockResolvedValue(failedDeployment());
    await state.refresh();

    expect(onstatus.mock.calls).toEqual([
      ['running', undefined],
      ['failed', failedDeployment().reason],
    ]);
  });

  it('pauses while the tab is hidden and catches up when it shows again', async () => {
    const client = fakeClient();
    const page = new FakeDocument();
    const state = new DeploymentState(client, PLAN_ID, { document: page });
    const stop = state.start();
    await vi.advanceTimersByTimeAsync(0);

    page.become('hidden');
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);
    expect(client.deployment).toHaveBeenCalledTimes(1);

    page.become('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(client.deployment).toHaveBeenCalledTimes(2);
    stop();
  });

  it('stops on a signed-out session and says so', async () => {
    const client = fakeClient();
    client.deployment.mockRejectedValue(new SignedOut('Your session has ended. Log in again.'));
    const onsignedout = vi.fn();
    const state = new DeploymentState(client, PLAN_ID, { onsignedout });

    state.start();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 2);

    expect(client.deployment).toHaveBeenCalledTimes(1);
    expect(onsignedout).toHaveBeenCalledOnce();
    expect(state.error).toBe('Your session has ended. Log in again.');
  });

  it('resolves waitUntilGone when the plan answers 404', async () => {
    const client = fakeClient(deployingDeployment({ status: 'deleting', mode: 'teardown' }));
    const state = new DeploymentState(client, PLAN_ID);
    state.start();
    const gone = vi.fn();
    void state.waitUntilGone().then(gone);

    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);
    expect(gone).not.toHaveBeenCalled();
    client.deployment.mockRejectedValue(new ApiError(404, 'Not Found', 'There is no plan.'));
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS);

    expect(gone).toHaveBeenCalledOnce();
    expect(state.gone).toBe(true);
  });
});

describe('waitUntilGone', () => {
  it('polls the plan until it answers 404', async () => {
    const getPlan = vi
      .fn()
      .mockResolvedValueOnce({ value: { status: 'deleting' } })
      .mockRejectedValueOnce(new ApiError(404, 'Not Found', 'There is no plan.'));

    const outcome = waitUntilGone({ getPlan }, PLAN_ID, { intervalMs: 500 });
    await vi.advanceTimersByTimeAsync(500);

    await expect(outcome).resolves.toEqual({ gone: true });
    expect(getPlan).toHaveBeenCalledTimes(2);
  });

  it('reports a teardown that stopped with the plan still there', async () => {
    const getPlan = vi.fn().mockResolvedValue({ value: { status: 'failed', statusReason: 'Destroy: access denied' } });

    await expect(waitUntilGone({ getPlan }, PLAN_ID)).resolves.toEqual({ gone: false, status: 'failed', reason: 'Destroy: access denied' });
  });

  it('stops asking once aborted', async () => {
    const getPlan = vi.fn().mockResolvedValue({ value: { status: 'deleting' } });
    const controller = new AbortController();

    void waitUntilGone({ getPlan }, PLAN_ID, { intervalMs: 500, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await vi.advanceTimersByTimeAsync(5000);

    expect(getPlan).toHaveBeenCalledTimes(1);
  });
});
