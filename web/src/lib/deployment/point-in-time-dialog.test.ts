import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client.ts';
import PointInTimeDialog from './point-in-time-dialog.svelte';
import { polyfillDialog } from './test-fakes.ts';

beforeAll(polyfillDialog);

// Berlin is UTC+1 in November: the window below reads 10:49:05 to 11:02:30 there.
const RANGE = { earliest: '2026-11-24T09:49:05.512Z', latest: '2026-11-24T10:02:30.000Z' };

function open(restore: (targetTime: string) => Promise<void> = () => Promise.resolve()) {
  const restoreSpy = vi.fn(restore);
  const onstarted = vi.fn();
  render(PointInTimeDialog, { open: true, planName: 'orders', range: RANGE, timeZone: 'Europe/Berlin', restore: restoreSpy, onstarted });
  flushSync();
  const dialog = screen.getByRole('dialog', { name: 'Restore “orders” to a point in time?' });
  return {
    dialog,
    restore: restoreSpy,
    onstarted,
    time: within(dialog).getByLabelText<HTMLInputElement>('Restore to'),
    confirm: within(dialog).getByRole<HTMLInputElement>('checkbox', { name: /Rewind “orders”/ }),
    submit: within(dialog).getByRole<HTMLButtonElement>('button', { name: 'Restore to this time' }),
  };
}

/** Lets the restore's promise land and Svelte render what it changed. */
async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await Promise.resolve();
  flushSync();
}

function describedBy(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
}

describe('the point-in-time restore dialog', () => {
  it('starts at the latest time in the window, to the second, bounded by the window, in a named zone', () => {
    const { dialog, time, confirm } = open();

    expect(time.type).toBe('datetime-local');
    expect(time.step).toBe('1');
    expect(time.value).toBe('2026-11-24T11:02:30');
    expect(time.min).toBe('2026-11-24T10:49:05');
    expect(time.max).toBe('2026-11-24T11:02:30');
    expect(describedBy(time)).toContain('Your time zone: Europe/Berlin (UTC+01:00)');
    expect(confirm.checked).toBe(false);
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
  });

  it('sends the chosen time as UTC once the plan’s rewind is confirmed, then closes', async () => {
    const { time, confirm, submit, restore, onstarted } = open();

    await fireEvent.input(time, { target: { value: '2026-11-24T10:55:00' } });
    await fireEvent.click(confirm);
    await fireEvent.click(submit);
    await settle();

    expect(restore).toHaveBeenCalledExactlyOnceWith('2026-11-24T09:55:00.000Z');
    expect(onstarted).toHaveBeenCalledOnce();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('asks for the confirmation on the checkbox and sends nothing without it', async () => {
    const { confirm, submit, restore } = open();

    await fireEvent.click(submit);
    await settle();

    expect(restore).not.toHaveBeenCalled();
    expect(confirm.getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(confirm)).toBe('Confirm that “orders” is to be rewound.');
    expect(document.activeElement).toBe(confirm);
    expect(screen.getByRole('dialog')).toBeTruthy();
  });

  it('refuses an empty time and one outside the window next to the field', async () => {
    const { time, confirm, submit, restore } = open();
    await fireEvent.click(confirm);

    await fireEvent.input(time, { target: { value: '' } });
    await fireEvent.click(submit);
    await settle();
    expect(time.getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(time)).toContain('Choose the date and time to restore to.');
    expect(document.activeElement).toBe(time);

    await fireEvent.input(time, { target: { value: '2026-11-24T10:49:04' } });
    await fireEvent.click(submit);
    await settle();
    expect(describedBy(time)).toContain('Choose a time between 2026-11-24 10:49:05 and 2026-11-24 11:02:30.');
    expect(restore).not.toHaveBeenCalled();
  });

  it('shows the API’s 400 about the time next to the field and stays open', async () => {
    const { time, confirm, submit, onstarted } = open(() =>
      Promise.reject(
        new ApiError(400, 'Bad Request', 'The request has invalid fields', [
          { path: '/targetTime', message: 'must be inside the recovery window, which now starts at 2026-11-24T09:50:00Z' },
        ]),
      ),
    );
    await fireEvent.click(confirm);

    await fireEvent.click(submit);
    await settle();

    expect(time.getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(time)).toContain('must be inside the recovery window, which now starts at 2026-11-24T09:50:00Z');
    expect(document.activeElement).toBe(time);
    expect(screen.getByRole('dialog')).toBeTruthy();
    expect(onstarted).not.toHaveBeenCalled();
  });

  it('shows a 409 in the dialog and stays open', async () => {
    const { dialog, confirm, submit, time, onstarted } = open(() =>
      Promise.reject(new ApiError(409, 'Conflict', 'A backup of this plan is running; try again when it has finished.')),
    );
    await fireEvent.click(confirm);

    await fireEvent.click(submit);
    await settle();

    expect(within(dialog).getByRole('alert').textContent).toBe(
      'Starting the restore failed: A backup of this plan is running; try again when it has finished.',
    );
    expect(time.getAttribute('aria-invalid')).toBeNull();
    expect(screen.getByRole('dialog')).toBeTruthy();
    expect(onstarted).not.toHaveBeenCalled();
  });
});
