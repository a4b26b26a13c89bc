import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { LogInForm, type AuthService } from '#lib/auth/auth-forms.svelte.ts';
import { AuthError } from '#lib/auth/cognito.ts';
import { fakeAuthService } from '#lib/auth/test-fakes.ts';
import LogInFormView from './log-in-form.svelte';

function setUp(auth: AuthService = fakeAuthService(), email = '') {
  const onSignedIn = vi.fn();
  render(LogInFormView, { form: new LogInForm(auth, email), onSignedIn });
  return { onSignedIn };
}

async function fill(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe('the log-in form', () => {
  it('asks for the missing fields on each field, and focuses the first', async () => {
    const auth = fakeAuthService();
    setUp(auth);

    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));

    const email = screen.getByLabelText('E-mail address');
    const password = screen.getByLabelText('Password');
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(password.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(password.getAttribute('aria-describedby') ?? '')?.textContent).toContain('Enter your password.');
    expect(document.activeElement).toBe(email);
    expect(auth.logIn).not.toHaveBeenCalled();
  });

  it('marks both fields when Cognito refuses the pair, with the message shown once and read with each', async () => {
    setUp(
      fakeAuthService({ logIn: () => Promise.reject(new AuthError('Wrong e-mail address or password.', 'NotAuthorizedException', 'password')) }),
      'ada@example.com',
    );
    await fill('Password', 'not-it');

    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));

    const email = screen.getByLabelText('E-mail address');
    const password = screen.getByLabelText('Password');
    await vi.waitFor(() => expect(password.getAttribute('aria-invalid')).toBe('true'));
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getAllByText('Wrong e-mail address or password.')).toHaveLength(1);
    for (const field of [email, password]) {
      expect(document.getElementById(field.getAttribute('aria-describedby') ?? '')?.textContent).toContain('Wrong e-mail address or password.');
    }
    await vi.waitFor(() => expect(document.activeElement).toBe(email));

    await fill('E-mail address', 'ada@example.org');
    expect(email.getAttribute('aria-invalid')).toBeNull();
    expect(password.getAttribute('aria-invalid')).toBeNull();
  });

  it('shows a problem that is about no field as an alert', async () => {
    setUp(
      fakeAuthService({
        logIn: () => Promise.reject(new AuthError('Cannot reach the sign-in service. Check your connection and try again.', 'NetworkError')),
      }),
      'ada@example.com',
    );
    await fill('Password', 'whatever');

    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));

    expect((await screen.findByRole('alert')).textContent).toContain('Cannot reach the sign-in service.');
  });

  it('hands over once logged in', async () => {
    const auth = fakeAuthService();
    const { onSignedIn } = setUp(auth, 'ada@example.com');
    await fill('Password', 'Correct-Horse-9');

    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));

    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce());
    expect(auth.logIn).toHaveBeenCalledWith('ada@example.com', 'Correct-Horse-9');
  });

  it('offers the code step to an address that is not confirmed yet', async () => {
    setUp(
      fakeAuthService({
        logIn: () =>
          Promise.reject(new AuthError('Confirm your e-mail address first: enter the code we sent you.', 'UserNotConfirmedException', 'email')),
      }),
      'ada@example.com',
    );
    await fill('Password', 'whatever');

    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));

    const link = await screen.findByRole('link', { name: 'Enter your confirmation code' });
    expect(link.getAttribute('href')).toBe('/confirm?email=ada%40example.com');
  });
});
