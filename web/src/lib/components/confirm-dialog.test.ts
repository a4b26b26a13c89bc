import { fireEvent, render, screen } from '@testing-library/svelte';
import { createRawSnippet, flushSync } from 'svelte';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { polyfillDialog } from '../deployment/test-fakes.ts';
import ConfirmDialog from './confirm-dialog.svelte';

beforeAll(polyfillDialog);

const message = createRawSnippet(() => ({ render: () => '<p>This replaces the current data of orders.</p>' }));

function open(props: Partial<{ onconfirm: () => void | Promise<void>; oncancel: () => void; error: string }> = {}) {
  const onconfirm = props.onconfirm ?? vi.fn();
  const oncancel = props.oncancel ?? vi.fn();
  const result = render(ConfirmDialog, {
    open: true,
    title: 'Restore backup?',
    confirmLabel: 'Restore',
    danger: true,
    children: message,
    onconfirm,
    oncancel,
    ...(props.error ? { error: props.error } : {}),
  });
  flushSync();
  return { ...result, onconfirm, oncancel };
}

describe('the confirmation dialog', () => {
  it('is a modal dialog named by its title, described by its message, with focus on Cancel', () => {
    open();

    const dialog = screen.getByRole('dialog', { name: 'Restore backup?' });
    expect(dialog.hasAttribute('open')).toBe(true);
    expect(document.getElementById(dialog.getAttribute('aria-describedby') ?? '')?.textContent).toBe('This replaces the current data of orders.');
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
  });

  it('confirms with the confirm button, and only then', async () => {
    const { onconfirm, oncancel } = open();
    expect(onconfirm).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByRole('button', { name: 'Restore' }));

    expect(onconfirm).toHaveBeenCalledOnce();
    expect(oncancel).not.toHaveBeenCalled();
  });

  it('cancels with Escape and closes', async () => {
    const { onconfirm, oncancel } = open();

    await fireEvent(screen.getByRole('dialog'), new Event('cancel', { cancelable: true }));
    flushSync();

    expect(oncancel).toHaveBeenCalledOnce();
    expect(onconfirm).not.toHaveBeenCalled();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('cancels with the Cancel button', async () => {
    const { oncancel } = open();

    await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    flushSync();

    expect(oncancel).toHaveBeenCalledOnce();
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('disables both buttons while the confirmed action runs', async () => {
    let finish: () => void = () => undefined;
    open({ onconfirm: () => new Promise<void>((resolve) => (finish = resolve)) });

    await fireEvent.click(screen.getByRole('button', { name: 'Restore' }));
    flushSync();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Cancel' }).disabled).toBe(true);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Restore' }).disabled).toBe(true);

    finish();
    await Promise.resolve();
    await Promise.resolve();
    flushSync();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Restore' }).disabled).toBe(false);
  });

  it('shows why the action did not go through', () => {
    open({ error: 'Starting the restore failed: the plan is not running.' });

    expect(screen.getByRole('alert').textContent).toBe('Starting the restore failed: the plan is not running.');
  });
});
