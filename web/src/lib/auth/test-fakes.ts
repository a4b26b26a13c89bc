import { vi } from 'vitest';
import type { AuthService } from './auth-forms.svelte.ts';

/** An auth service where every call succeeds (sign-up needs no confirmation); a test overrides what it is about. */
export function fakeAuthService(overrides: Partial<AuthService> = {}): AuthService {
  return {
    logIn: vi.fn(() => Promise.resolve()),
    signUp: vi.fn(() => Promise.resolve({ confirmed: true })),
    confirm: vi.fn(() => Promise.resolve()),
    resendCode: vi.fn(() => Promise.resolve()),
    ...overrides,
  };
}
