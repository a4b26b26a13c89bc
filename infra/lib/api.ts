import { Stack } from 'aws-cdk-lib';
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes } from '@cloudseed/functions/routes';
import type { Route } from '@cloudseed/functions/routes';
import type { Auth } from './auth.ts';
import type { CustomerTemplate } from './customer-template.ts';
import type { Data } from './data.ts';
import { grantCustomerAccountAccess, grantCustomerRoleAssumption } from './customer-access.ts';
import { CloudSeedFunction } from './function.ts';
import { acknowledge } from './nag.ts';
import type { WorkflowName, Workflows } from './workflows.ts';

// The HTTP API: one Lambda function per route of functions/routes.ts, a Cognito JWT authorizer on
// every route that needs a user, throttling and access logs on the one ($default) stage. CloudFront
// serves it under /v1/* on the site's own origin, so there is no CORS.

/** What a route's handler module touches, beyond the environment every function gets. */
interface RouteAccess {
  /** Every table: functions/lib/plans.ts and backups.ts name theirs at load, so a handler gets them all. */
  readonly tables?: 'read' | 'write';
  /** Workflows it starts executions of. */
  readonly starts?: readonly WorkflowName[];
  /** Reads executions' status and history. */
  readonly observesWorkflows?: boolean;
  /** Runs AwsProvider in the customer's account (the credentials route reads the password parameter there). */
  readonly customerAccount?: boolean;
  /**
   * Assumes the customer's role without running AwsProvider: to prove a new connection works, or to
   * sign download links to backups, which are in the customer's own bucket.
   */
  readonly assumesCustomerRole?: boolean;
  /** Tells customers how to connect: the account their role must trust (PLATFORM_ACCOUNT_ID) and where the template is published (CUSTOMER_TEMPLATE_URL). */
  readonly templateLaunch?: boolean;
}

/** Keyed by handler module; a route whose module is missing here fails the synth rather than deploying with too little or too much. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'api/health.ts': {},
  'api/openapi.ts': {},
  'api/docs.ts': {},
  'api/create-plan.ts': { tables: 'write' },
  'api/list-plans.ts': { tables: 'read' },
  'api/get-plan.ts': { tables: 'read' },
  'api/update-plan.ts': { tables: 'write' },
  'api/delete-plan.ts': { tables: 'write', starts: ['teardown'] },
  'api/deploy-plan.ts': { tables: 'write', starts: ['deploy'] },
  'api/get-deployment.ts': { tables: 'read', observesWorkflows: true },
  'api/get-credentials.ts': { tables: 'read', customerAccount: true },
  'api/list-backups.ts': { tables: 'read' },
  // The backup's bucket is derived from the plan's connected account (or is the local cloud's).
  'api/run-backup.ts': { tables: 'write', starts: ['backup'] },
  'api/validate-backup.ts': { tables: 'write', starts: ['backup'] },
  'api/restore-backup.ts': { tables: 'write', starts: ['restore'] },
  'api/download-backup.ts': { tables: 'read', assumesCustomerRole: true },
  'api/get-client-address.ts': {},
  // The first list of a customer's accounts issues their ExternalId: a write.
  'api/list-accounts.ts': { tables: 'write', templateLaunch: true },
  // A role that refuses is answered with the launch link.
  'api/create-account.ts': { tables: 'write', assumesCustomerRole: true, templateLaunch: true },
  'api/delete-account.ts': { tables: 'write' },
};

export interface ApiProps {
  readonly auth: Auth;
  readonly data: Data;
  readonly workflows: Workflows;
  readonly customerTemplate: CustomerTemplate;
  readonly removalPolicy: RemovalPolicy;
  /** Steady-state requests per second and burst for the whole stage. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/** `GET /v1/plan/{id}` → `GetV1PlanId`: a stable construct id per route. */
export function routeId(route: Route): string {
  const words = [route.method.toLowerCase(), ...route.path.split(/[^A-Za-z0-9]+/)].filter((word) => word !== '');
  return words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly functions: ReadonlyMap<Route, CloudSeedFunction>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { auth, data, workflows, customerTemplate } = props;
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'CloudSeed API (served under /v1 by the CloudFront distribution)',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: props.removalPolicy });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });

    const authorizer = new HttpUserPoolAuthorizer('CognitoAccessTokens', auth.userPool, { userPoolClients: [auth.client] });
    const functions = new Map<Route, CloudSeedFunction>();
    const functionsScope = new Construct(this, 'Routes');
    for (const route of routes) {
      const access = ROUTE_ACCESS[route.module];
      if (!access) throw new Error(`infra/lib/api.ts: ROUTE_ACCESS does not say what ${route.module} may touch`);
      const fn = new CloudSeedFunction(functionsScope, routeId(route), {
        module: route.module,
        service: 'cloudseed-api',
        description: `CloudSeed API ${route.method} ${route.path}`,
        removalPolicy: props.removalPolicy,
      });
      if (route.auth) auth.trustTokensIn(fn);
      if (access.tables === 'write') data.grantReadWriteTo(fn);
      if (access.tables === 'read') data.grantReadTo(fn);
      if (access.starts) workflows.grantStartTo(fn, ...access.starts);
      if (access.observesWorkflows) workflows.grantObserveTo(fn);
      if (access.customerAccount) grantCustomerAccountAccess(fn);
      if (access.assumesCustomerRole) grantCustomerRoleAssumption(fn);
      if (access.templateLaunch) {
        fn.addEnvironment('PLATFORM_ACCOUNT_ID', Stack.of(this).account);
        customerTemplate.publishTo(fn);
      }
      functions.set(route, fn);

      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${routeId(route)}Integration`, fn.lambda),
        ...(route.auth ? { authorizer } : {}),
      });
      if (!route.auth && httpRoute) {
        const reason = `${route.method} ${route.path} is public by design (DESIGN §3: health, the OpenAPI document and the docs page need no token).`;
        acknowledge(httpRoute, 'AwsSolutions-APIG4', reason);
        acknowledge(httpRoute, 'AwsSolutions-COG4', reason);
      }
    }
    this.functions = functions;
  }

  /** The API's host name, for CloudFront's origin. */
  get domainName(): string {
    const stack = Stack.of(this);
    return `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}
