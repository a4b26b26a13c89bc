import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import type { PlanResource } from '../api/types.ts';
import DeletePlanButton from './delete-plan-button.svelte';
import { PLAN_ID, polyfillDialog, settle } from './test-fakes.ts';

beforeAll(polyfillDialog);
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function plan(status: PlanResource['status'], statusReason?: string): { value: PlanResource } {
  return {
    value: {
      id: PLAN_ID,
      version: 1,
      createdAt: '',
      updatedAt: '',
      spec: {} as PlanResource['spec'],
      status,
      ...(statusReason ? { statusReason } : {}),
    },
  };
}

function fakeClient(outcome: 'deleted' | 'tearing-down') {
  return {
    deletePlan: vi.fn((_id: string) => Promise.resolve(outcome)),
    getPlan: vi.fn((_id: string) => Promise.resolve(plan('deleting'))),
  };
}

async function confirmDelete() {
  await fireEvent.click(screen.getByRole('button', { name: 'Delete plan' }));
  await settle();
  const dialog = screen.getByRole('dialog', { name: 'Delete plan orders?' });
  await fireEvent.click(within(dialog).getByRole('button', { name: 'Delete plan' }));
  await settle();
}

describe('Delete plan', () => {
  it('asks first, and deletes nothing on Cancel', async () => {
    const client = fakeClient('deleted');
    render(DeletePlanButton, { planId: PLAN_ID, planName: 'orders', client, ondeleted: vi.fn() });

    await fireEvent.click(screen.getByRole('button', { name: 'Delete plan' }));
    await settle();
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    await settle();

    expect(client.deletePlan).not.toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('is done at once when nothing was deployed (204)', async () => {
    const client = fakeClient('deleted');
    const ondeleted = vi.fn();
    render(DeletePlanButton, { planId: PLAN_ID, planName: 'orders', client, ondeleted });

    await confirmDelete();

    expect(client.deletePlan).toHaveBeenCalledExactlyOnceWith(PLAN_ID);
    expect(ondeleted).toHaveBeenCalledOnce();
    expect(client.getPlan).not.toHaveBeenCalled();
  });

  it('after a 202, waits for the teardown until the plan answers 404', async () => {
    const client = fakeClient('tearing-down');
    const ondeleting = vi.fn();
    const ondeleted = vi.fn();
    render(DeletePlanButton, { planId: PLAN_ID, planName: 'orders', client, ondeleting, ondeleted });

    await confirmDelete();
    expect(ondeleting).toHaveBeenCalledOnce();
    expect(screen.getByRole('button', { name: 'Deleting…' })).toBeTruthy();
    expect(ondeleted).not.toHaveBeenCalled();

    client.getPlan.mockRejectedValue(new ApiError(404, 'Not Found', 'There is no plan.'));
    await vi.advanceTimersByTimeAsync(1000);
    await settle();

    expect(ondeleted).toHaveBeenCalledOnce();
  });

  it('says so when the teardown failed and the plan stays', async () => {
    const client = fakeClient('tearing-down');
    const ondeleted = vi.fn();
    const onfailed = vi.fn();
    render(DeletePlanButton, { planId: PLAN_ID, planName: 'orders', client, ondeleted, onfailed });

    await confirmDelete();
    client.getPlan.mockResolvedValue(plan('failed', 'Destroy: the instance could not be terminated'));
    await vi.advanceTimersByTimeAsync(1000);
    await settle();

    expect(ondeleted).not.toHaveBeenCalled();
    expect(onfailed).toHaveBeenCalledWith('failed', 'Destroy: the instance could not be terminated');
    expect(screen.getByRole('alert').textContent).toBe('The plan was not deleted: Destroy: the instance could not be terminated');
  });

  it('keeps the dialog open with the reason when the API refuses', async () => {
    const client = fakeClient('deleted');
    client.deletePlan.mockRejectedValue(new ApiError(409, 'Conflict', 'The plan is deploying; wait for it to finish.'));
    render(DeletePlanButton, { planId: PLAN_ID, planName: 'orders', client, ondeleted: vi.fn() });

    await confirmDelete();

    expect(within(screen.getByRole('dialog')).getByRole('alert').textContent).toBe(
      'Deleting the plan failed: The plan is deploying; wait for it to finish.',
    );
  });
});
