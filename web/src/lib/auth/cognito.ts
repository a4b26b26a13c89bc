import type * as CognitoSdk from '@aws-sdk/client-cognito-identity-provider';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { AppConfig } from '../config.ts';

// Cognito's public API (sign-up, sign-in, refresh, confirmation), through the AWS SDK. Loaded only
// when a page needs it, so the landing page ships none of it.

export interface CognitoTokens {
  readonly accessToken: string;
  readonly idToken: string;
  /** Absent when refreshing: the refresh token stays the same. */
  readonly refreshToken?: string;
  readonly expiresInSeconds: number;
}

/** A Cognito refusal, in words a user can act on; `field` says which input it is about. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    message: string,
    readonly code: string,
    readonly field?: 'email' | 'password' | 'code',
  ) {
    super(message);
  }
}

type Sdk = typeof CognitoSdk;

let sdk: Promise<Sdk> | undefined;
let client: { config: AppConfig; client: CognitoIdentityProviderClient } | undefined;

async function cognito(config: AppConfig): Promise<{ sdk: Sdk; client: CognitoIdentityProviderClient }> {
  const loaded = await (sdk ??= import('@aws-sdk/client-cognito-identity-provider'));
  if (client?.config !== config) {
    client = {
      config,
      client: new loaded.CognitoIdentityProviderClient({
        region: config.region,
        ...(config.mode === 'local' ? { endpoint: config.cognitoEndpoint } : {}),
        // Sign-up, sign-in and refresh are unsigned calls: no AWS credentials are involved.
        credentials: { accessKeyId: 'unsigned', secretAccessKey: 'unsigned' },
        maxAttempts: 2,
      }),
    };
  }
  return { sdk: loaded, client: client.client };
}

function tokensFrom(result: { AccessToken?: string; IdToken?: string; RefreshToken?: string; ExpiresIn?: number } | undefined): CognitoTokens {
  if (!result?.AccessToken || !result.IdToken) throw new AuthError('Signing in did not complete. Try again.', 'NoTokens');
  return {
    accessToken: result.AccessToken,
    idToken: result.IdToken,
    ...(result.RefreshToken ? { refreshToken: result.RefreshToken } : {}),
    expiresInSeconds: result.ExpiresIn ?? 3600,
  };
}

export async function logIn(config: AppConfig, email: string, password: string): Promise<CognitoTokens> {
  const { sdk, client } = await cognito(config);
  return withReadableErrors(async () => {
    try {
      const { AuthenticationResult, ChallengeName } = await client.send(
        new sdk.InitiateAuthCommand({
          ClientId: config.userPoolClientId,
          AuthFlow: 'USER_PASSWORD_AUTH',
          AuthParameters: { USERNAME: email, PASSWORD: password },
        }),
      );
      if (ChallengeName) throw new AuthError(`This account needs a step the web app does not offer yet (${ChallengeName}).`, ChallengeName);
      return tokensFrom(AuthenticationResult);
    } catch (error) {
      // The local cloud's Cognito answers a wrong password with InvalidPasswordException, which
      // elsewhere means a password too weak for the policy; at sign-in it can only be a wrong one.
      if (error instanceof Error && error.name === 'InvalidPasswordException')
        throw new AuthError('Wrong e-mail address or password.', 'NotAuthorizedException', 'password');
      throw error;
    }
  });
}

export async function refresh(config: AppConfig, refreshToken: string): Promise<CognitoTokens> {
  const { sdk, client } = await cognito(config);
  return withReadableErrors(async () => {
    const { AuthenticationResult } = await client.send(
      new sdk.InitiateAuthCommand({
        ClientId: config.userPoolClientId,
        AuthFlow: 'REFRESH_TOKEN_AUTH',
        AuthParameters: { REFRESH_TOKEN: refreshToken },
      }),
    );
    return tokensFrom(AuthenticationResult);
  });
}

/** `confirmed` is false when Cognito mailed a code that /confirm asks for. */
export async function signUp(config: AppConfig, email: string, password: string): Promise<{ confirmed: boolean }> {
  const { sdk, client } = await cognito(config);
  return withReadableErrors(async () => {
    const { UserConfirmed } = await client.send(
      new sdk.SignUpCommand({
        ClientId: config.userPoolClientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: 'email', Value: email }],
      }),
    );
    return { confirmed: UserConfirmed === true };
  });
}

export async function confirmSignUp(config: AppConfig, email: string, code: string): Promise<void> {
  const { sdk, client } = await cognito(config);
  await withReadableErrors(() =>
    client.send(new sdk.ConfirmSignUpCommand({ ClientId: config.userPoolClientId, Username: email, ConfirmationCode: code })),
  );
}

export async function resendCode(config: AppConfig, email: string): Promise<void> {
  const { sdk, client } = await cognito(config);
  await withReadableErrors(() => client.send(new sdk.ResendConfirmationCodeCommand({ ClientId: config.userPoolClientId, Username: email })));
}

/** Ends the refresh token's life on the server; signing out locally does not wait for it. */
export async function revoke(config: AppConfig, refreshToken: string): Promise<void> {
  const { sdk, client } = await cognito(config);
  await client.send(new sdk.RevokeTokenCommand({ ClientId: config.userPoolClientId, Token: refreshToken }));
}

async function withReadableErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw readable(error);
  }
}

/** Cognito's exception names → what the user should do about them. */
export function readable(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  const code = error instanceof Error ? error.name : 'Unknown';
  const message = error instanceof Error ? error.message : '';
  switch (code) {
    case 'NotAuthorizedException':
      if (/disabled/i.test(message)) return new AuthError('This account is disabled. Contact support.', code);
      if (/refresh token/i.test(message)) return new AuthError('Your session has ended. Log in again.', code);
      return new AuthError('Wrong e-mail address or password.', code, 'password');
    case 'UserNotFoundException':
      return new AuthError('There is no account with this e-mail address. Check it, or sign up.', code, 'email');
    case 'UsernameExistsException':
      return new AuthError('An account with this e-mail address already exists. Log in instead.', code, 'email');
    case 'InvalidPasswordException':
      return new AuthError(
        message ? `Use a stronger password: ${message.replace(/^Password did not conform with policy: ?/i, '')}` : 'Use a stronger password.',
        code,
        'password',
      );
    case 'UserNotConfirmedException':
      return new AuthError('Confirm your e-mail address first: enter the code we sent you.', code, 'email');
    case 'CodeMismatchException':
      return new AuthError('That code is not right. Check the e-mail and try again.', code, 'code');
    case 'ExpiredCodeException':
      return new AuthError('That code has expired. Ask for a new one.', code, 'code');
    case 'InvalidParameterException':
      return new AuthError(message || 'Check the e-mail address and password.', code);
    case 'TooManyRequestsException':
    case 'LimitExceededException':
      return new AuthError('Too many attempts. Wait a minute and try again.', code);
    default:
      if (error instanceof TypeError) return new AuthError('Cannot reach the sign-in service. Check your connection and try again.', 'NetworkError');
      return new AuthError(message || 'Signing in failed. Try again.', code);
  }
}
