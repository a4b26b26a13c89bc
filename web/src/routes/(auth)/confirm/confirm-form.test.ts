import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { ConfirmForm, PendingSignUp } from '#lib/auth/auth-forms.svelte.ts';
import { fakeAuthService } from '#lib/auth/test-fakes.ts';
import ConfirmFormView from './confirm-form.svelte';

describe('the confirmation form', () => {
  it('asks for the code before calling Cognito', async () => {
    const auth = fakeAuthService();
    render(ConfirmFormView, { form: new ConfirmForm(auth, 'ada@example.com', new PendingSignUp()), onSignedIn: vi.fn(), onConfirmed: vi.fn() });

    expect(screen.getByLabelText('E-mail address')).toHaveProperty('value', 'ada@example.com');
    await fireEvent.click(screen.getByRole('button', { name: 'Confirm' }));

    const code = screen.getByLabelText('Confirmation code');
    expect(code.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('code-error')?.textContent).toContain('Enter the code from the e-mail we sent you.');
    expect(auth.confirm).not.toHaveBeenCalled();
  });

  it('resends the code and says where it went', async () => {
    const auth = fakeAuthService();
    render(ConfirmFormView, { form: new ConfirmForm(auth, 'ada@example.com', new PendingSignUp()), onSignedIn: vi.fn(), onConfirmed: vi.fn() });

    await fireEvent.click(screen.getByRole('button', { name: 'Resend code' }));

    expect((await screen.findByRole('status')).textContent).toContain('We sent a new code to ada@example.com.');
    expect(auth.resendCode).toHaveBeenCalledWith('ada@example.com');
  });

  it('hands over once confirmed', async () => {
    const onConfirmed = vi.fn();
    render(ConfirmFormView, { form: new ConfirmForm(fakeAuthService(), 'ada@example.com', new PendingSignUp()), onSignedIn: vi.fn(), onConfirmed });
    await fireEvent.input(screen.getByLabelText('Confirmation code'), { target: { value: '123456' } });

    await fireEvent.click(screen.getByRole('button', { name: 'Confirm' }));

    await vi.waitFor(() => expect(onConfirmed).toHaveBeenCalledOnce());
  });
});
