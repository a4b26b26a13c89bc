import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '@cloudseed/functions/routes';
import { ROUTE_ACCESS, routeId } from '../lib/api.ts';
import { WORKFLOWS } from '../lib/workflows.ts';
import {
  actionsOf,
  cloudFederationRoleId,
  cloudSeedFunctions,
  environmentOf,
  flat,
  json,
  pathOf,
  props,
  record,
  referencedId,
  resourcesOfType,
  roleStatements,
} from './synth.ts';
import type { CfnResource, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function routeFunction(route: (typeof routes)[number]): [string, CfnResource] {
  const found = cloudSeedFunctions(app.platformTemplate).find(([, fn]) => pathOf(fn).endsWith(`/Api/Routes/${routeId(route)}/Function/Resource`));
  if (!found) throw new Error(`no function for ${route.method} ${route.path}`);
  return found;
}

function byModule(module: string): (typeof routes)[number] {
  const route = routes.find((candidate) => candidate.module === module);
  if (!route) throw new Error(`no route runs ${module}`);
  return route;
}

describe('Api', () => {
  it('says for every route what its function may touch', () => {
    for (const route of routes) expect(ROUTE_ACCESS[route.module], route.module).toBeDefined();
  });

  it('creates one API Gateway route per route of functions/routes.ts, each with its own function', () => {
    const keys = resourcesOfType(app.platformTemplate, 'AWS::ApiGatewayV2::Route').map(([, route]) => props(route).RouteKey);
    expect(keys.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
    for (const route of routes) {
      const [, fn] = routeFunction(route);
      expect(String(props(fn).Description)).toContain(`${route.method} ${route.path}`);
    }
  });

  it('puts the Cognito JWT authorizer on every route that needs a user, and on no other', () => {
    const authorizers = resourcesOfType(app.platformTemplate, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    const pools = resourcesOfType(app.platformTemplate, 'AWS::Cognito::UserPool');
    const clients = resourcesOfType(app.platformTemplate, 'AWS::Cognito::UserPoolClient');
    expect(props(authorizer).AuthorizerType).toBe('JWT');
    const jwt = record(props(authorizer).JwtConfiguration);
    expect(flat(jwt.Issuer)).toBe(`https://cognito-idp.\${AWS::Region}.amazonaws.com/\${${pools[0]![0]}}`);
    expect((jwt.Audience as unknown[]).map(referencedId)).toEqual([clients[0]![0]]);

    const byKey = new Map(
      resourcesOfType(app.platformTemplate, 'AWS::ApiGatewayV2::Route').map(([, route]) => [props(route).RouteKey, props(route)]),
    );
    const apiRoute = (route: (typeof routes)[number]) => byKey.get(`${route.method} ${route.path}`)!;
    for (const route of routes.filter((candidate) => candidate.auth)) {
      expect(apiRoute(route).AuthorizationType, route.path).toBe('JWT');
      expect(referencedId(apiRoute(route).AuthorizerId), route.path).toBe(authorizerId);
    }
    for (const route of routes.filter((candidate) => !candidate.auth)) {
      expect(apiRoute(route).AuthorizationType, route.path).toBe('NONE');
      expect(apiRoute(route).AuthorizerId, route.path).toBeUndefined();
    }
    expect(
      routes
        .filter((route) => !route.auth)
        .map((route) => route.path)
        .sort(),
    ).toEqual(['/v1/docs', '/v1/health', '/v1/openapi.json']);
  });

  it('throttles the $default stage and logs its access to a log group', () => {
    const [[, stage] = []] = resourcesOfType(app.platformTemplate, 'AWS::ApiGatewayV2::Stage');
    const properties = props(stage!);
    expect(properties.StageName).toBe('$default');
    expect(properties.AutoDeploy).toBe(true);
    const throttling = record(properties.DefaultRouteSettings);
    expect(throttling.ThrottlingRateLimit).toBeTypeOf('number');
    expect(throttling.ThrottlingBurstLimit).toBeTypeOf('number');
    const logGroupId = referencedId(record(properties.AccessLogSettings).DestinationArn) ?? '';
    expect(json(app.platformTemplate).Resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
  });

  it('lets route functions verify tokens of this pool and client', () => {
    for (const route of routes.filter((candidate) => candidate.auth)) {
      const [, fn] = routeFunction(route);
      const environment = environmentOf(fn);
      expect(referencedId(environment.USER_POOL_ID), route.path).toBeDefined();
      expect(referencedId(environment.USER_POOL_CLIENT_ID), route.path).toBeDefined();
    }
  });

  it('names every workflow to the functions that use functions/lib/workflows.ts, which reads them all at load', () => {
    for (const [module, access] of Object.entries(ROUTE_ACCESS)) {
      if (!access.starts && !access.observesWorkflows) continue;
      const [, fn] = routeFunction(byModule(module));
      for (const workflow of Object.values(WORKFLOWS)) expect(environmentOf(fn)[workflow.env], `${module} ${workflow.env}`).toBeDefined();
    }
  });

  it('lets only the deploy route start deploys, and gives public routes no permissions but reading the origin secret', () => {
    const starting = (module: string) =>
      roleStatements(app.platformTemplate, routeFunction(byModule(module))[0])
        .filter((statement) => actionsOf(statement).includes('states:StartExecution'))
        .flatMap((statement) => [statement.Resource].flat().map(flat));
    expect(starting('api/deploy-plan.ts')).toEqual([expect.stringMatching(/^\$\{WorkflowsDeploy[0-9A-F]+\}$/)]);
    expect(starting('api/delete-plan.ts')).toEqual([expect.stringMatching(/^\$\{WorkflowsTeardown[0-9A-F]+\}$/)]);
    expect(starting('api/get-plan.ts')).toEqual([]);
    const [[originSecretId] = []] = resourcesOfType(app.platformTemplate, 'AWS::SecretsManager::Secret');
    for (const route of routes.filter((candidate) => !candidate.auth)) {
      const statements = roleStatements(app.platformTemplate, routeFunction(route)[0]).filter(
        (statement) => !actionsOf(statement).every((action) => /^(logs|xray):/.test(action)),
      );
      expect(
        statements.map((statement) => ({ actions: actionsOf(statement).sort(), resource: referencedId(statement.Resource) })),
        route.path,
      ).toEqual([{ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], resource: originSecretId }]);
    }
  });

  it('lets only the connect-account and backup download routes assume customer roles without running AwsProvider', () => {
    const assumes = (module: string) =>
      roleStatements(app.platformTemplate, routeFunction(byModule(module))[0])
        .filter((statement) => actionsOf(statement).includes('sts:AssumeRole'))
        .flatMap((statement) => [statement.Resource].flat().map(flat));
    const withoutProvider = routes.filter((route) => !ROUTE_ACCESS[route.module]?.customerAccount);
    expect(
      withoutProvider
        .filter((route) => assumes(route.module).length > 0)
        .map((route) => route.module)
        .sort(),
    ).toEqual(['api/create-account.ts', 'api/download-backup.ts']);
    const customerRoles = 'arn:${AWS::Partition}:iam::*:role/CloudSeedDeployer*';
    // Connecting a Google Cloud project or Azure subscription is tried as the platform's federation role.
    expect(assumes('api/create-account.ts')).toEqual([customerRoles, `\${${cloudFederationRoleId(app.platformTemplate)}.Arn}`]);
    expect(assumes('api/download-backup.ts')).toEqual([customerRoles]);
    for (const module of ['api/create-account.ts', 'api/download-backup.ts']) {
      expect(environmentOf(routeFunction(byModule(module))[1]).NODE_INSTANCE_PROFILE, module).toBeUndefined();
    }
    // Backups are in the customers' buckets: the download route signs with their role and may touch no S3 itself.
    expect(
      roleStatements(app.platformTemplate, routeFunction(byModule('api/download-backup.ts'))[0])
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('s3:')),
    ).toEqual([]);
  });

  it('tells the account routes the platform account and where the customer template is published, and no other route', () => {
    const [templateBucketId] = resourcesOfType(app.platformTemplate, 'AWS::S3::Bucket').find(
      ([, bucket]) => pathOf(bucket) === 'CloudSeedPlatform/CustomerTemplate/Bucket/Resource',
    )!;
    const told = routes.filter((route) => 'CUSTOMER_TEMPLATE_URL' in environmentOf(routeFunction(route)[1])).map((route) => route.module);
    expect(told.sort()).toEqual(['api/create-account.ts', 'api/list-accounts.ts']);
    expect(
      routes
        .filter((route) => 'PLATFORM_ACCOUNT_ID' in environmentOf(routeFunction(route)[1]))
        .map((route) => route.module)
        .sort(),
    ).toEqual(told);
    for (const module of told) {
      const environment = environmentOf(routeFunction(byModule(module))[1]);
      expect(environment.PLATFORM_ACCOUNT_ID, module).toEqual({ Ref: 'AWS::AccountId' });
      expect(flat(environment.CUSTOMER_TEMPLATE_URL), module).toBe(`https://\${${templateBucketId}.RegionalDomainName}/cloudseed-account.json`);
    }
  });

  it('gives every account route the accounts table', () => {
    for (const module of ['api/list-accounts.ts', 'api/create-account.ts', 'api/delete-account.ts']) {
      expect(referencedId(environmentOf(routeFunction(byModule(module))[1]).ACCOUNTS_TABLE), module).toBeDefined();
    }
  });

  it('lets read-only routes read the tables and no more', () => {
    const actions = roleStatements(app.platformTemplate, routeFunction(byModule('api/list-plans.ts'))[0]).flatMap(actionsOf);
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((action) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/.test(action))).toEqual([]);
  });
});
