import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { PendingSignUp, SignUpForm, type AuthService } from '#lib/auth/auth-forms.svelte.ts';
import { AuthError } from '#lib/auth/cognito.ts';
import { fakeAuthService } from '#lib/auth/test-fakes.ts';
import SignUpFormView from './sign-up-form.svelte';

function setUp(auth: AuthService = fakeAuthService()) {
  const form = new SignUpForm(auth, new PendingSignUp());
  const onSignedIn = vi.fn();
  const onConfirm = vi.fn();
  render(SignUpFormView, { form, onSignedIn, onConfirm });
  return { form, onSignedIn, onConfirm };
}

async function fill(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe('the sign-up form', () => {
  it('labels its fields and names its button', () => {
    setUp();

    expect(screen.getByLabelText('E-mail address')).toHaveProperty('type', 'email');
    expect(screen.getByLabelText('Password')).toHaveProperty('type', 'password');
    expect(screen.getByRole('button', { name: 'Sign up' })).toHaveProperty('type', 'submit');
  });

  it('shows what a weak password lacks on the field, and does not call Cognito', async () => {
    const auth = fakeAuthService();
    setUp(auth);
    await fill('E-mail address', 'ada@example.com');
    await fill('Password', 'password');

    await fireEvent.click(screen.getByRole('button', { name: 'Sign up' }));

    const password = screen.getByLabelText('Password');
    expect(password.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (password.getAttribute('aria-describedby') ?? '').split(' ');
    const error = document.getElementById('password-error');
    expect(describedBy).toContain('password-error');
    expect(error?.textContent).toContain(
      'Use a stronger password: it needs at least 12 characters, an upper-case letter, a digit and a symbol such as ! or -.',
    );
    expect(document.activeElement).toBe(password);
    expect(auth.signUp).not.toHaveBeenCalled();
    expect(screen.getByLabelText('E-mail address').getAttribute('aria-invalid')).toBeNull();
  });

  it('flags an address that is not one', async () => {
    setUp();
    await fill('E-mail address', 'ada');
    await fill('Password', 'Correct-Horse-9');

    await fireEvent.click(screen.getByRole('button', { name: 'Sign up' }));

    const email = screen.getByLabelText('E-mail address');
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(email.getAttribute('aria-describedby') ?? '')?.textContent).toContain(
      'Enter an e-mail address such as you@company.com.',
    );
    expect(document.activeElement).toBe(email);
  });

  it('disables the button while signing up, then hands over', async () => {
    let finish: (value: { confirmed: boolean }) => void = () => undefined;
    const auth = fakeAuthService({ signUp: () => new Promise((resolve) => (finish = resolve)) });
    const { onConfirm, onSignedIn } = setUp(auth);
    await fill('E-mail address', 'ada@example.com');
    await fill('Password', 'Correct-Horse-9');

    await fireEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    const button = screen.getByRole('button', { name: 'Sign up' });
    expect(button).toHaveProperty('disabled', true);
    expect(button.getAttribute('aria-busy')).toBe('true');

    finish({ confirmed: false });
    await vi.waitFor(() => expect(onConfirm).toHaveBeenCalledOnce());
    expect(onSignedIn).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Sign up' })).toHaveProperty('disabled', false);
  });

  it('says an account exists on the e-mail field, with a way to log in', async () => {
    setUp(
      fakeAuthService({
        signUp: () =>
          Promise.reject(new AuthError('An account with this e-mail address already exists. Log in instead.', 'UsernameExistsException', 'email')),
      }),
    );
    await fill('E-mail address', 'ada@example.com');
    await fill('Password', 'Correct-Horse-9');

    await fireEvent.click(screen.getByRole('button', { name: 'Sign up' }));

    await vi.waitFor(() => expect(screen.getByLabelText('E-mail address').getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById('email-error')?.textContent).toContain('An account with this e-mail address already exists.');
    expect(screen.getByRole('link', { name: 'Log in with this address' }).getAttribute('href')).toBe('/login?email=ada%40example.com');
  });

  it('lets the user see the password they typed', async () => {
    setUp();
    const toggle = screen.getByRole('button', { name: 'Show password' });

    await fireEvent.click(toggle);

    expect(screen.getByLabelText('Password')).toHaveProperty('type', 'text');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
  });
});
