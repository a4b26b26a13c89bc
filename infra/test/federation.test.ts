import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '@cloudseed/functions/routes';
import { stepModules } from '@cloudseed/functions/steps/index';
import { ROUTE_ACCESS } from '../lib/api.ts';
import { azureAppIdFromContext, cloudFederationRoleName } from '../lib/cloud-federation.ts';
import { JOB_MODULES } from '../lib/function-bundle.ts';
import {
  actionsOf,
  cloudFederationRoleId,
  cloudSeedFunctions,
  environmentOf,
  flat,
  json,
  list,
  props,
  record,
  referencedId,
  resourcesOfType,
  roleStatements,
} from './synth.ts';
import type { Statement, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

const APP_ID = '0f6c1b2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f';

let app: Synthesized;
let withAzure: Synthesized;

beforeAll(() => {
  app = synth();
  withAzure = synth({ context: { azureAppId: APP_ID.toUpperCase() } });
}, 120_000);

/** The handler modules whose functions reach customers' clouds, from the constructs' own tables rather than the template. */
const FEDERATING = [
  ...Object.values(stepModules),
  JOB_MODULES.healthCheck,
  // The alert rules read what a plan's nodes publish in its account.
  JOB_MODULES.alerts,
  ...routes.filter((route) => ROUTE_ACCESS[route.module]?.customerAccount).map((route) => route.module),
  'api/create-account.ts',
].sort();
/** Shows customers the role's name, without assuming it. */
const NAMING = ['api/list-accounts.ts'];

/** `steps-render.handler` → `steps/render.ts`. */
function moduleOf(handler: unknown): string {
  const entry = String(handler).replace(/\.handler$/, '');
  const [folder, ...rest] = entry.split('-');
  return `${folder}/${rest.join('-')}.ts`;
}

function functionsBy(template: Synthesized) {
  return cloudSeedFunctions(template.platformTemplate).map(([id, fn]) => ({ id, fn, module: moduleOf(props(fn).Handler) }));
}

function federationRole(template: Synthesized) {
  const id = cloudFederationRoleId(template.platformTemplate);
  return { id, role: json(template.platformTemplate).Resources[id]! };
}

describe('the cloud federation role', () => {
  it('is named after the platform stack, once', () => {
    const { role } = federationRole(app);
    expect(props(role).RoleName).toBe('CloudSeedPlatform-CloudFederation');
    expect(props(role).Path).toBeUndefined();
    expect(props(role).ManagedPolicyArns).toBeUndefined();
    expect(props(role).Policies).toBeUndefined();
  });

  it('is trusted, for sts:AssumeRole alone, by exactly the roles of the functions that reach customers’ clouds', () => {
    const { role } = federationRole(app);
    const statements = list(record(props(role).AssumeRolePolicyDocument).Statement) as Statement[];
    expect(statements).toHaveLength(1);
    const [trust] = statements;
    expect(trust!.Effect).toBe('Allow');
    expect(actionsOf(trust!)).toEqual(['sts:AssumeRole']);
    expect(flat(record(trust!.Principal).AWS)).toBe('arn:${AWS::Partition}:iam::${AWS::AccountId}:root');
    expect(Object.keys(trust!.Condition ?? {})).toEqual(['StringLike']);
    expect(Object.keys(trust!.Condition!.StringLike!)).toEqual(['aws:userid']);

    const sessions = list(trust!.Condition!.StringLike!['aws:userid']).map(flat);
    const roleOf = new Map(functionsBy(app).map(({ fn, module }) => [module, referencedId(props(fn).Role)]));
    expect(sessions.sort()).toEqual(FEDERATING.map((module) => `\${${roleOf.get(module)}.RoleId}:*`).sort());
  });

  it('may do nothing but get web identity tokens for Entra ID’s token exchange', () => {
    const { id } = federationRole(app);
    const policies = resourcesOfType(app.platformTemplate, 'AWS::IAM::Policy').filter(([, policy]) =>
      list(props(policy).Roles).some((role) => referencedId(role) === id),
    );
    expect(policies).toHaveLength(1);
    const statements = list(record(props(policies[0]![1]).PolicyDocument).Statement) as Statement[];
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:GetWebIdentityToken',
        Resource: '*',
        Condition: {
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': 'api://AzureADTokenExchange' },
          Null: { 'sts:IdentityTokenAudience': 'false' },
        },
      },
    ]);
  });

  it('is assumable by the functions it trusts, and no function else may assume it', () => {
    const { id } = federationRole(app);
    for (const { id: fnId, module } of functionsBy(app)) {
      const onRole = roleStatements(app.platformTemplate, fnId).filter((statement) =>
        list(statement.Resource).some((resource) => referencedId(resource) === id),
      );
      const expected = FEDERATING.includes(module) ? [['sts:AssumeRole']] : [];
      expect(
        onRole.map((statement) => actionsOf(statement)),
        module,
      ).toEqual(expected);
    }
  });

  it('is named to the functions that assume it and to the accounts list, and to no other function', () => {
    const { id } = federationRole(app);
    const told = functionsBy(app).filter(({ fn }) => 'CLOUD_FEDERATION_ROLE_ARN' in environmentOf(fn));
    expect(told.map(({ module }) => module).sort()).toEqual([...FEDERATING, ...NAMING].sort());
    for (const { fn, module } of told) expect(environmentOf(fn).CLOUD_FEDERATION_ROLE_ARN, module).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
    expect(json(app.platformTemplate).Outputs?.CloudFederationRoleArn?.Value).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
  });

  it('keeps its trust policy within the 2,048 characters IAM allows by default, with every role id filled in', () => {
    const { role } = federationRole(app);
    // A role id is 21 characters (AROA and 17 more); the account id 12 digits.
    const deployed = JSON.stringify(props(role).AssumeRolePolicyDocument, (_key, value: unknown) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      if ('Fn::Join' in value || 'Fn::GetAtt' in value || 'Ref' in value)
        return flat(value)
          .replace(/\$\{[\w]+\.RoleId\}/g, 'AROA' + 'X'.repeat(17))
          .replace('${AWS::Partition}', 'aws')
          .replace('${AWS::AccountId}', '111122223333');
      return value;
    });
    expect(deployed).not.toContain('${');
    expect(deployed.length).toBeLessThan(2048);
  });
});

describe('the Entra app id (-c azureAppId)', () => {
  it('is not given to any function when the operator gives none', () => {
    for (const { fn, module } of functionsBy(app)) expect(environmentOf(fn).AZURE_APP_ID, module).toBeUndefined();
  });

  it('is given, lower-cased, to exactly the functions that know the federation role', () => {
    const told = functionsBy(withAzure).filter(({ fn }) => 'AZURE_APP_ID' in environmentOf(fn));
    expect(told.map(({ module }) => module).sort()).toEqual([...FEDERATING, ...NAMING].sort());
    for (const { fn, module } of told) expect(environmentOf(fn).AZURE_APP_ID, module).toBe(APP_ID);
  });

  it('must be a GUID: anything else stops the synth with what is wrong', () => {
    const context = (value: unknown) => (key: string) => (key === 'azureAppId' ? value : undefined);
    expect(azureAppIdFromContext(context(undefined))).toBeUndefined();
    expect(azureAppIdFromContext(context(''))).toBeUndefined();
    expect(azureAppIdFromContext(context(` ${APP_ID} `))).toBe(APP_ID);
    for (const malformed of ['cloudseed', `${APP_ID}0`, APP_ID.replaceAll('-', ''), `{${APP_ID}}`, 42]) {
      expect(() => azureAppIdFromContext(context(malformed)), String(malformed)).toThrow(/context azureAppId must be the application \(client\) id/);
    }
    expect(() => synth({ context: { azureAppId: 'not-a-guid' } })).toThrow(/context azureAppId must be the application \(client\) id/);
  });
});

describe('the federation role’s name', () => {
  it('fits IAM’s 64 characters, or the synth says how long the stack name may be', () => {
    expect(cloudFederationRoleName('CloudSeedPlatform-staging')).toBe('CloudSeedPlatform-staging-CloudFederation');
    expect(cloudFederationRoleName('S'.repeat(48))).toHaveLength(64);
    expect(() => cloudFederationRoleName('S'.repeat(49))).toThrow(/over IAM's 64: the platform stack's name may have at most 48/);
  });
});
