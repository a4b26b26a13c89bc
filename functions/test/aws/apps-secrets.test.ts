import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { appComponent, appProvider, appTarget, inputs, mockAppAws, ssmError, ssmMock, TAGS } from './apps-fixtures.ts';

// The values of an app's secrets on AWS: SecureString parameters under the app's path, which the
// task definition names; created with the app's tags, overwritten (tags kept) when set again.

mockAppAws();

describe('putSecrets', () => {
  const target = appTarget(appComponent({ secrets: ['API_KEY', 'SIGNING_SECRET'] }));

  it('creates a SecureString parameter per secret, tagged as the app', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await appProvider().putSecrets(target, { API_KEY: 'k-1', SIGNING_SECRET: 's-1' });

    expect(inputs(ssmMock.commandCalls(PutParameterCommand))).toEqual([
      {
        Name: '/cloudseed/p-1/web/secrets/API_KEY',
        Description: 'Secret API_KEY of CloudSeed app web',
        Value: 'k-1',
        Type: 'SecureString',
        Overwrite: false,
        Tags: TAGS,
      },
      {
        Name: '/cloudseed/p-1/web/secrets/SIGNING_SECRET',
        Description: 'Secret SIGNING_SECRET of CloudSeed app web',
        Value: 's-1',
        Type: 'SecureString',
        Overwrite: false,
        Tags: TAGS,
      },
    ]);
  });

  it('overwrites a value that was set before', async () => {
    ssmMock.on(PutParameterCommand, { Overwrite: false }).rejects(ssmError('ParameterAlreadyExists'));
    ssmMock.on(PutParameterCommand, { Overwrite: true }).resolves({ Version: 2 });

    await appProvider().putSecrets(target, { API_KEY: 'k-2' });

    expect(inputs(ssmMock.commandCalls(PutParameterCommand)).map(({ Name, Value, Overwrite }) => ({ Name, Value, Overwrite }))).toEqual([
      { Name: '/cloudseed/p-1/web/secrets/API_KEY', Value: 'k-2', Overwrite: false },
      { Name: '/cloudseed/p-1/web/secrets/API_KEY', Value: 'k-2', Overwrite: true },
    ]);
  });
});
