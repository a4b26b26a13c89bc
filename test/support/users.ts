import { CognitoIdentityProviderClient, InitiateAuthCommand, SignUpCommand } from '@aws-sdk/client-cognito-identity-provider';
import { randomBytes, randomUUID } from 'node:crypto';
import type { LocalCloudConfig } from './local-cloud.ts';

export interface SignedUpUser {
  readonly email: string;
  readonly password: string;
  readonly sub: string;
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
}

export interface Tokens {
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
}

type CognitoConfig = Pick<LocalCloudConfig, 'cognitoEndpoint' | 'userPoolClientId'>;

async function withCognito<T>(config: CognitoConfig, call: (client: CognitoIdentityProviderClient) => Promise<T>): Promise<T> {
  const client = new CognitoIdentityProviderClient({
    endpoint: config.cognitoEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    return await call(client);
  } finally {
    client.destroy();
  }
}

export const randomEmail = () => `user-${randomUUID()}@example.com`;

/** Meets the pool's policy: 12+ characters with upper case, lower case and digits. */
export const randomPassword = () => `Cs1-${randomBytes(12).toString('base64url')}aZ9`;

/** Signs a new user up (the local cloud confirms sign-ups at once) and logs them in. */
export async function signUp(config: CognitoConfig, email = randomEmail(), password = randomPassword()): Promise<SignedUpUser> {
  const { UserSub, UserConfirmed } = await withCognito(config, (client) =>
    client.send(new SignUpCommand({ ClientId: config.userPoolClientId, Username: email, Password: password })),
  );
  if (UserSub === undefined) throw new Error('SignUp returned no UserSub');
  if (UserConfirmed !== true) throw new Error(`SignUp left ${email} unconfirmed`);
  return { email, password, sub: UserSub, ...(await logIn(config, email, password)) };
}

/** USER_PASSWORD_AUTH, the flow the local cloud's SPA uses. */
export async function logIn(config: CognitoConfig, email: string, password: string): Promise<Tokens> {
  const { AuthenticationResult: result } = await withCognito(config, (client) =>
    client.send(
      new InitiateAuthCommand({
        ClientId: config.userPoolClientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: email, PASSWORD: password },
      }),
    ),
  );
  if (result?.AccessToken === undefined || result.IdToken === undefined || result.RefreshToken === undefined)
    throw new Error(`InitiateAuth gave ${email} no tokens`);
  return { accessToken: result.AccessToken, idToken: result.IdToken, refreshToken: result.RefreshToken };
}
