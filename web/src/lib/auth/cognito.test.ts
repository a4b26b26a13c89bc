import { describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config.ts';

// The SDK is replaced by a client whose `send` rejects as the user pool would.
const send = vi.hoisted(() => vi.fn());
vi.mock('@aws-sdk/client-cognito-identity-provider', () => ({
  CognitoIdentityProviderClient: class {
    send = send;
  },
  InitiateAuthCommand: class {
    constructor(readonly input: unknown) {}
  },
}));

const { logIn } = await import('./cognito.ts');

const config: AppConfig = {
  mode: 'local',
  region: 'us-east-1',
  userPoolId: 'pool',
  userPoolClientId: 'client',
  cognitoEndpoint: 'http://127.0.0.1:9229',
  apiBase: '',
};

function cognitoError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

describe('logging in through Cognito', () => {
  it('reads a wrong password as one, also where the local user pool calls it InvalidPasswordException', async () => {
    send.mockRejectedValueOnce(cognitoError('InvalidPasswordException', 'Invalid password'));
    await expect(logIn(config, 'ada@example.com', 'nope')).rejects.toMatchObject({ message: 'Wrong e-mail address or password.', field: 'password' });

    send.mockRejectedValueOnce(cognitoError('NotAuthorizedException', 'Incorrect username or password.'));
    await expect(logIn(config, 'ada@example.com', 'nope')).rejects.toMatchObject({ message: 'Wrong e-mail address or password.', field: 'password' });
  });

  it('puts an unknown user on the e-mail field', async () => {
    send.mockRejectedValueOnce(cognitoError('UserNotFoundException', 'User does not exist.'));

    await expect(logIn(config, 'who@example.com', 'x')).rejects.toMatchObject({
      message: 'There is no account with this e-mail address. Check it, or sign up.',
      field: 'email',
    });
  });

  it('returns the tokens of a successful log in', async () => {
    send.mockResolvedValueOnce({ AuthenticationResult: { AccessToken: 'a', IdToken: 'i', RefreshToken: 'r', ExpiresIn: 300 } });

    await expect(logIn(config, 'ada@example.com', 'Correct-Horse-9')).resolves.toEqual({
      accessToken: 'a',
      idToken: 'i',
      refreshToken: 'r',
      expiresInSeconds: 300,
    });
  });
});
