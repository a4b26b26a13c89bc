import { describe, expect, it, vi } from 'vitest';
import { ConfirmForm, LogInForm, PendingSignUp, SignUpForm } from './auth-forms.svelte.ts';
import { AuthError } from './cognito.ts';
import { fakeAuthService } from './test-fakes.ts';

const STRONG = 'Correct-Horse-9';

describe('log in', () => {
  it('asks for both fields before calling Cognito', async () => {
    const auth = fakeAuthService();
    const form = new LogInForm(auth);

    expect(await form.submit()).toBe(false);

    expect(form.errors).toEqual({ email: 'Enter your e-mail address.', password: 'Enter your password.' });
    expect(auth.logIn).not.toHaveBeenCalled();
  });

  it('logs in with the trimmed address', async () => {
    const auth = fakeAuthService();
    const form = new LogInForm(auth, ' ada@example.com ');
    form.password = 'anything at all';

    expect(await form.submit()).toBe(true);
    expect(auth.logIn).toHaveBeenCalledWith('ada@example.com', 'anything at all');
  });

  it('puts a wrong password on the password field and an unknown user on the e-mail field', async () => {
    const wrong = new LogInForm(
      fakeAuthService({ logIn: () => Promise.reject(new AuthError('Wrong e-mail address or password.', 'NotAuthorizedException', 'password')) }),
      'ada@example.com',
    );
    wrong.password = 'nope';
    await wrong.submit();
    expect(wrong.errors).toEqual({ password: 'Wrong e-mail address or password.' });

    const unknown = new LogInForm(
      fakeAuthService({
        logIn: () =>
          Promise.reject(new AuthError('There is no account with this e-mail address. Check it, or sign up.', 'UserNotFoundException', 'email')),
      }),
      'who@example.com',
    );
    unknown.password = 'nope';
    await unknown.submit();
    expect(unknown.errors).toEqual({ email: 'There is no account with this e-mail address. Check it, or sign up.' });
  });

  it('shows a refusal that is about no field above the form', async () => {
    const form = new LogInForm(
      fakeAuthService({ logIn: () => Promise.reject(new AuthError('Too many attempts. Wait a minute and try again.', 'TooManyRequestsException')) }),
      'ada@example.com',
    );
    form.password = 'x';

    await form.submit();

    expect(form.problem).toBe('Too many attempts. Wait a minute and try again.');
    expect(form.errors).toEqual({});
  });

  it('is pending while Cognito answers, and sends once however often it is submitted', async () => {
    let finish: () => void = () => undefined;
    const auth = fakeAuthService({ logIn: vi.fn(() => new Promise<void>((resolve) => (finish = resolve))) });
    const form = new LogInForm(auth, 'ada@example.com');
    form.password = 'x';

    const first = form.submit();
    expect(form.pending).toBe(true);
    await form.submit();
    finish();

    expect(await first).toBe(true);
    expect(form.pending).toBe(false);
    expect(auth.logIn).toHaveBeenCalledOnce();
  });

  it('clears a server error once the field is edited', async () => {
    const form = new LogInForm(
      fakeAuthService({ logIn: () => Promise.reject(new AuthError('Wrong e-mail address or password.', 'NotAuthorizedException', 'password')) }),
      'ada@example.com',
    );
    form.password = 'nope';
    await form.submit();

    form.password = 'nope2';
    form.edited('password');

    expect(form.errors.password).toBeUndefined();
  });

  it('knows when the address still needs its confirmation code', async () => {
    const form = new LogInForm(
      fakeAuthService({
        logIn: () =>
          Promise.reject(new AuthError('Confirm your e-mail address first: enter the code we sent you.', 'UserNotConfirmedException', 'email')),
      }),
      'ada@example.com',
    );
    form.password = 'x';

    await form.submit();

    expect(form.needsConfirmation).toBe(true);
  });
});

describe('sign up', () => {
  it('refuses a weak password before Cognito is asked (the local user pool does not check)', async () => {
    const auth = fakeAuthService();
    const form = new SignUpForm(auth);
    form.email = 'ada@example.com';
    form.password = 'password1';

    expect(await form.submit()).toBeUndefined();

    expect(form.errors.password).toBe('Use a stronger password: it needs at least 12 characters, an upper-case letter and a symbol such as ! or -.');
    expect(auth.signUp).not.toHaveBeenCalled();
  });

  it('re-checks a field as it is typed after a first attempt, so the error goes once it is fixed', async () => {
    const form = new SignUpForm(fakeAuthService());
    form.email = 'ada@example.com';
    form.password = 'short';
    await form.submit();

    form.password = 'longer-but-lower1';
    form.edited('password');
    expect(form.errors.password).toBe('Use a stronger password: it needs an upper-case letter.');

    form.password = STRONG;
    form.edited('password');
    expect(form.errors.password).toBeUndefined();
  });

  it('logs straight in when the account is confirmed at once (the local cloud)', async () => {
    const auth = fakeAuthService();
    const form = new SignUpForm(auth);
    form.email = 'ada@example.com';
    form.password = STRONG;

    expect(await form.submit()).toBe('signed-in');
    expect(auth.signUp).toHaveBeenCalledWith('ada@example.com', STRONG);
    expect(auth.logIn).toHaveBeenCalledWith('ada@example.com', STRONG);
  });

  it('goes to the code step when Cognito mailed a code, remembering the password in memory', async () => {
    const signUps = new PendingSignUp();
    const auth = fakeAuthService({ signUp: () => Promise.resolve({ confirmed: false }) });
    const form = new SignUpForm(auth, signUps);
    form.email = 'ada@example.com';
    form.password = STRONG;

    expect(await form.submit()).toBe('confirm');
    expect(auth.logIn).not.toHaveBeenCalled();
    expect(signUps.passwordFor('ada@example.com')).toBe(STRONG);
  });

  it('says so on the e-mail field when the account exists', async () => {
    const form = new SignUpForm(
      fakeAuthService({
        signUp: () =>
          Promise.reject(new AuthError('An account with this e-mail address already exists. Log in instead.', 'UsernameExistsException', 'email')),
      }),
    );
    form.email = 'ada@example.com';
    form.password = STRONG;

    await form.submit();

    expect(form.errors.email).toBe('An account with this e-mail address already exists. Log in instead.');
    expect(form.accountExists).toBe(true);
  });
});

describe('confirm the e-mail address', () => {
  it('asks for the code in the e-mail', async () => {
    const auth = fakeAuthService();
    const form = new ConfirmForm(auth, 'ada@example.com');

    await form.submit();
    expect(form.errors).toEqual({ code: 'Enter the code from the e-mail we sent you.' });

    form.code = 'abc';
    form.edited('code');
    expect(form.errors.code).toBe('The code is the 6 digits in the e-mail we sent you.');
    expect(auth.confirm).not.toHaveBeenCalled();
  });

  it('logs in after confirming when this tab signed the address up', async () => {
    const signUps = new PendingSignUp();
    signUps.remember('ada@example.com', STRONG);
    const auth = fakeAuthService();
    const form = new ConfirmForm(auth, 'ada@example.com', signUps);
    form.code = ' 123 456 ';

    expect(await form.submit()).toBe('signed-in');
    expect(auth.confirm).toHaveBeenCalledWith('ada@example.com', '123456');
    expect(auth.logIn).toHaveBeenCalledWith('ada@example.com', STRONG);
    expect(signUps.passwordFor('ada@example.com')).toBeUndefined();
  });

  it('sends the user to log in when it does not know the password', async () => {
    const auth = fakeAuthService();
    const form = new ConfirmForm(auth, 'ada@example.com', new PendingSignUp());
    form.code = '123456';

    expect(await form.submit()).toBe('confirmed');
    expect(auth.logIn).not.toHaveBeenCalled();
  });

  it('puts a wrong code on the code field', async () => {
    const form = new ConfirmForm(
      fakeAuthService({
        confirm: () => Promise.reject(new AuthError('That code is not right. Check the e-mail and try again.', 'CodeMismatchException', 'code')),
      }),
      'ada@example.com',
    );
    form.code = '000000';

    expect(await form.submit()).toBeUndefined();
    expect(form.errors.code).toBe('That code is not right. Check the e-mail and try again.');
  });

  it('resends the code to the address, which alone must be valid', async () => {
    const auth = fakeAuthService();
    const form = new ConfirmForm(auth);

    expect(await form.resend()).toBe(false);
    expect(form.errors.email).toBe('Enter your e-mail address.');

    form.email = 'ada@example.com';
    expect(await form.resend()).toBe(true);
    expect(auth.resendCode).toHaveBeenCalledWith('ada@example.com');
    expect(form.notice).toBe('We sent a new code to ada@example.com.');
  });
});
