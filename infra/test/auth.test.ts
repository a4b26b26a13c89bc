import { beforeAll, describe, expect, it } from 'vitest';
import { props, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let dev: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  dev = synth();
  prod = synth({ stage: 'prod' });
}, 60_000);

describe('Auth', () => {
  it('signs users up and in by email, verified, with a strong password policy and threat protection', () => {
    const [[, pool] = []] = resourcesOfType(dev.platformTemplate, 'AWS::Cognito::UserPool');
    expect(props(pool!)).toMatchObject({
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
      Policies: {
        PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true },
      },
      MfaConfiguration: 'OPTIONAL',
      UserPoolTier: 'PLUS',
    });
  });

  it('gives the SPA a public client with SRP, password and refresh flows and one-hour access tokens', () => {
    const [[, client] = []] = resourcesOfType(dev.platformTemplate, 'AWS::Cognito::UserPoolClient');
    const properties = props(client!);
    expect(properties.GenerateSecret).toBe(false);
    expect(properties.ExplicitAuthFlows).toEqual(
      expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
    );
    expect(properties.ExplicitAuthFlows).not.toContain('ALLOW_ADMIN_USER_PASSWORD_AUTH');
    expect(properties.AccessTokenValidity).toBe(60);
    expect(properties.TokenValidityUnits).toMatchObject({ AccessToken: 'minutes' });
    expect(properties.AllowedOAuthFlows).toBeUndefined();
    expect(properties.PreventUserExistenceErrors).toBe('ENABLED');
  });

  it('protects the prod user pool from deletion and keeps it when the stack goes', () => {
    const [[, pool] = []] = resourcesOfType(prod.platformTemplate, 'AWS::Cognito::UserPool');
    expect(pool!.DeletionPolicy).toBe('Retain');
    expect(props(pool!).DeletionProtection).toBe('ACTIVE');
    const [[, devPool] = []] = resourcesOfType(dev.platformTemplate, 'AWS::Cognito::UserPool');
    expect(props(devPool!).DeletionProtection).toBe('INACTIVE');
  });
});
