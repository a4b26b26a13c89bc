import { browser } from '$app/env';
import { loadConfig } from '../config.ts';
import type { CognitoTokens } from './cognito.ts';

// The signed-in user's tokens, kept in localStorage so a reload or a second tab stays signed in.
// Access tokens are refreshed a minute before they expire (and on demand when a request finds
// one about to expire); a refresh that fails signs the user out.

const STORAGE_KEY = 'cloudseed.session';
const REFRESH_MARGIN_MS = 60_000;

export interface StoredSession {
  readonly email: string;
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false;
  const session = value as Record<string, unknown>;
  return (
    ['email', 'accessToken', 'idToken', 'refreshToken'].every((key) => typeof session[key] === 'string') && typeof session.expiresAt === 'number'
  );
}

export class Session {
  current = $state<StoredSession | undefined>();
  readonly #storage: Storage | undefined;
  readonly #now: () => number;
  #refreshing: Promise<string | undefined> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(storage: Storage | undefined, now: () => number = Date.now) {
    this.#storage = storage;
    this.#now = now;
    this.current = this.#read();
    this.#schedule();
  }

  get signedIn(): boolean {
    return this.current !== undefined;
  }

  get email(): string | undefined {
    return this.current?.email;
  }

  /** A valid access token, refreshed first when it is about to expire; undefined when signed out. */
  async accessToken(): Promise<string | undefined> {
    const current = this.current;
    if (current === undefined) return undefined;
    if (current.expiresAt - this.#now() > REFRESH_MARGIN_MS) return current.accessToken;
    return this.refresh();
  }

  /** One refresh at a time, however many requests ask for it. */
  refresh(): Promise<string | undefined> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async logIn(email: string, password: string): Promise<void> {
    const [config, cognito] = await Promise.all([loadConfig(), import('./cognito.ts')]);
    const tokens = await cognito.logIn(config, email, password);
    this.#store(email, tokens);
  }

  async logOut(): Promise<void> {
    const current = this.current;
    this.#clear();
    if (current === undefined) return;
    try {
      const [config, cognito] = await Promise.all([loadConfig(), import('./cognito.ts')]);
      await cognito.revoke(config, current.refreshToken);
    } catch {
      // Already signed out here; the refresh token then simply expires.
    }
  }

  /** Another tab signed in or out. */
  sync(): void {
    this.current = this.#read();
    this.#schedule();
  }

  async #refresh(): Promise<string | undefined> {
    const current = this.current;
    if (current === undefined) return undefined;
    try {
      const [config, cognito] = await Promise.all([loadConfig(), import('./cognito.ts')]);
      const tokens = await cognito.refresh(config, current.refreshToken);
      if (this.current?.refreshToken !== current.refreshToken) return this.current?.accessToken; // signed out or in again meanwhile
      this.#store(current.email, { ...tokens, refreshToken: tokens.refreshToken ?? current.refreshToken });
      return tokens.accessToken;
    } catch {
      if (this.current?.refreshToken === current.refreshToken) this.#clear();
      return undefined;
    }
  }

  #store(email: string, tokens: CognitoTokens): void {
    if (tokens.refreshToken === undefined) throw new Error('Cognito gave no refresh token');
    this.current = {
      email,
      accessToken: tokens.accessToken,
      idToken: tokens.idToken,
      refreshToken: tokens.refreshToken,
      expiresAt: this.#now() + tokens.expiresInSeconds * 1000,
    };
    this.#storage?.setItem(STORAGE_KEY, JSON.stringify(this.current));
    this.#schedule();
  }

  #clear(): void {
    this.current = undefined;
    this.#storage?.removeItem(STORAGE_KEY);
    this.#schedule();
  }

  #read(): StoredSession | undefined {
    try {
      const parsed: unknown = JSON.parse(this.#storage?.getItem(STORAGE_KEY) ?? 'null');
      return isStoredSession(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const current = this.current;
    if (current === undefined || this.#storage === undefined) return;
    const due = Math.max(0, current.expiresAt - REFRESH_MARGIN_MS - this.#now());
    this.#timer = setTimeout(() => void this.refresh(), due);
  }
}

export const session = new Session(browser ? localStorage : undefined);

if (browser) {
  addEventListener('storage', (event) => {
    if (event.key === STORAGE_KEY || event.key === null) session.sync();
  });
}
