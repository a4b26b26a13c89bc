import { loadConfig } from '../config.ts';
import type { AuthError } from './cognito.ts';
import { emailProblem, passwordProblem } from './password.ts';
import { session } from './session.svelte.ts';

// The state of the log-in, sign-up and confirmation forms: values, per-field errors, one
// form-level problem and the pending flag. The pages render it; Cognito is reached through an
// `AuthService`, so tests drive the forms without a user pool.

export interface AuthService {
  readonly logIn: (email: string, password: string) => Promise<void>;
  /** `confirmed` is false when Cognito mailed a code that /confirm asks for. */
  readonly signUp: (email: string, password: string) => Promise<{ confirmed: boolean }>;
  readonly confirm: (email: string, code: string) => Promise<void>;
  readonly resendCode: (email: string) => Promise<void>;
}

async function cognito() {
  const [config, module] = await Promise.all([loadConfig(), import('./cognito.ts')]);
  return { config, cognito: module };
}

/** Cognito, loaded on first use so that a page ships none of the SDK until a form is sent. */
export const cognitoAuth: AuthService = {
  logIn: (email, password) => session.logIn(email, password),
  signUp: async (email, password) => {
    const { config, cognito: c } = await cognito();
    return c.signUp(config, email, password);
  },
  confirm: async (email, code) => {
    const { config, cognito: c } = await cognito();
    await c.confirmSignUp(config, email, code);
  },
  resendCode: async (email) => {
    const { config, cognito: c } = await cognito();
    await c.resendCode(config, email);
  },
};

/**
 * The password of a sign-up that still needs its e-mail code, kept in memory only (never in
 * storage), so that confirming logs the user straight in. A reload forgets it: /login then asks.
 */
export class PendingSignUp {
  #pending: { email: string; password: string } | undefined;

  remember(email: string, password: string): void {
    this.#pending = { email, password };
  }

  /** The password for `email`, if this tab signed it up. */
  passwordFor(email: string): string | undefined {
    return this.#pending?.email === email ? this.#pending.password : undefined;
  }

  forget(): void {
    this.#pending = undefined;
  }
}

export const pendingSignUp = new PendingSignUp();

function isAuthError(error: unknown): error is AuthError {
  return error instanceof Error && error.name === 'AuthError';
}

type Errors<Field extends string> = Partial<Record<Field, string>>;

abstract class AuthForm<Field extends string> {
  errors = $state<Errors<Field>>({});
  /** What went wrong that is about no one field, e.g. the service cannot be reached. */
  problem = $state<string | undefined>();
  /** Cognito's exception name of the last failure, e.g. `UserNotConfirmedException`. */
  failure = $state<string | undefined>();
  pending = $state(false);
  #attempted = false;

  protected constructor(protected readonly service: AuthService) {}

  /** The client-side check of one field; undefined when it is fine. */
  protected abstract check(field: Field): string | undefined;
  protected abstract readonly fields: readonly Field[];

  get valid(): boolean {
    return this.fields.every((field) => this.errors[field] === undefined);
  }

  /**
   * The user changed `field`: a server's complaint about it no longer applies, and after a first
   * attempt the field is checked again as it is typed, so its error goes away once it is fixed.
   */
  edited(field: Field): void {
    const error = this.#attempted ? this.check(field) : undefined;
    if (error === undefined) delete this.errors[field];
    else this.errors[field] = error;
  }

  /** Checks every field; false (with the errors shown) when one is not right. */
  protected validate(): boolean {
    this.#attempted = true;
    const errors: Errors<Field> = {};
    for (const field of this.fields) {
      const error = this.check(field);
      if (error !== undefined) errors[field] = error;
    }
    this.errors = errors;
    this.problem = undefined;
    this.failure = undefined;
    return this.valid;
  }

  /** Runs `work` once at a time, turning a refusal into the error of the field it is about. */
  protected async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this.pending) return undefined;
    this.pending = true;
    this.problem = undefined;
    this.failure = undefined;
    try {
      return await work();
    } catch (error) {
      this.show(error);
      return undefined;
    } finally {
      this.pending = false;
    }
  }

  protected show(error: unknown): void {
    if (isAuthError(error)) {
      this.failure = error.code;
      const field = error.field as Field | undefined;
      if (field !== undefined && this.fields.includes(field)) {
        this.errors[field] = error.message;
        return;
      }
      this.problem = error.message;
      return;
    }
    this.failure = error instanceof Error ? error.name : 'Unknown';
    this.problem = error instanceof Error && error.message ? error.message : 'Something went wrong. Try again.';
  }
}

export class LogInForm extends AuthForm<'email' | 'password'> {
  email = $state('');
  password = $state('');
  protected readonly fields = ['email', 'password'] as const;

  constructor(service: AuthService = cognitoAuth, email = '') {
    super(service);
    this.email = email;
  }

  protected check(field: 'email' | 'password'): string | undefined {
    if (field === 'email') return emailProblem(this.email);
    return this.password === '' ? 'Enter your password.' : undefined;
  }

  /** True once the user is signed in. */
  async submit(): Promise<boolean> {
    if (!this.validate()) return false;
    const email = this.email.trim();
    return (
      (await this.run(async () => {
        await this.service.logIn(email, this.password);
        return true;
      })) === true
    );
  }

  /**
   * Cognito refused the pair (a wrong password, or an address it will not confirm exists): both
   * fields are in error, and the one message shows under the password.
   */
  get credentialsRejected(): boolean {
    return this.failure === 'NotAuthorizedException' && this.errors.password !== undefined;
  }

  override edited(field: 'email' | 'password'): void {
    if (this.credentialsRejected) {
      this.failure = undefined;
      delete this.errors.password;
    }
    super.edited(field);
  }

  /** Log in refused because the e-mail address still needs its code. */
  get needsConfirmation(): boolean {
    return this.failure === 'UserNotConfirmedException';
  }
}

export class SignUpForm extends AuthForm<'email' | 'password'> {
  email = $state('');
  password = $state('');
  protected readonly fields = ['email', 'password'] as const;

  constructor(
    service: AuthService = cognitoAuth,
    private readonly signUps: PendingSignUp = pendingSignUp,
  ) {
    super(service);
  }

  protected check(field: 'email' | 'password'): string | undefined {
    // The policy is checked here: the local cloud's Cognito does not enforce it.
    return field === 'email' ? emailProblem(this.email) : passwordProblem(this.password);
  }

  /** `signed-in` when the account was confirmed at once (the local cloud), `confirm` when a code was mailed. */
  async submit(): Promise<'signed-in' | 'confirm' | undefined> {
    if (!this.validate()) return undefined;
    const email = this.email.trim();
    const password = this.password;
    return this.run(async () => {
      const { confirmed } = await this.service.signUp(email, password);
      if (!confirmed) {
        this.signUps.remember(email, password);
        return 'confirm' as const;
      }
      await this.service.logIn(email, password);
      return 'signed-in' as const;
    });
  }

  /** Sign up refused because the address already has an account. */
  get accountExists(): boolean {
    return this.failure === 'UsernameExistsException';
  }
}

export class ConfirmForm extends AuthForm<'email' | 'code'> {
  email = $state('');
  code = $state('');
  /** Set after a new code was sent. */
  notice = $state<string | undefined>();
  resending = $state(false);
  protected readonly fields = ['email', 'code'] as const;

  constructor(
    service: AuthService = cognitoAuth,
    email = '',
    private readonly signUps: PendingSignUp = pendingSignUp,
  ) {
    super(service);
    this.email = email;
  }

  protected check(field: 'email' | 'code'): string | undefined {
    if (field === 'email') return emailProblem(this.email);
    const code = this.code.replace(/\s/g, '');
    if (code === '') return 'Enter the code from the e-mail we sent you.';
    return /^\d{4,8}$/.test(code) ? undefined : 'The code is the 6 digits in the e-mail we sent you.';
  }

  /**
   * `signed-in` when this tab knows the password from signing up (so the user is logged straight
   * in), `confirmed` when they still have to log in.
   */
  async submit(): Promise<'signed-in' | 'confirmed' | undefined> {
    if (!this.validate()) return undefined;
    this.notice = undefined;
    const email = this.email.trim();
    return this.run(async () => {
      await this.service.confirm(email, this.code.replace(/\s/g, ''));
      const password = this.signUps.passwordFor(email);
      this.signUps.forget();
      if (password === undefined) return 'confirmed' as const;
      try {
        await this.service.logIn(email, password);
        return 'signed-in' as const;
      } catch {
        return 'confirmed' as const;
      }
    });
  }

  /** Sends a new code to the e-mail address (which alone is checked). */
  async resend(): Promise<boolean> {
    if (this.resending) return false;
    const emailError = emailProblem(this.email);
    this.notice = undefined;
    this.problem = undefined;
    if (emailError !== undefined) {
      this.errors.email = emailError;
      return false;
    }
    const email = this.email.trim();
    this.resending = true;
    try {
      await this.service.resendCode(email);
      this.notice = `We sent a new code to ${email}.`;
      return true;
    } catch (error) {
      this.show(error);
      return false;
    } finally {
      this.resending = false;
    }
  }
}
