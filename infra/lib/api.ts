import { Annotations, Stack } from 'aws-cdk-lib';
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes } from '@cloudseed/functions/routes';
import type { Route } from '@cloudseed/functions/routes';
import type { Auth } from './auth.ts';
import type { CloudFederation } from './cloud-federation.ts';
import type { CustomerTemplate } from './customer-template.ts';
import type { Data } from './data.ts';
import { grantCustomerAccountAccess, grantCustomerRoleAssumption } from './customer-access.ts';
import { CloudSeedFunction } from './function.ts';
import { acknowledge } from './nag.ts';
import { OriginSecret } from './origin-secret.ts';
import type { WorkflowName, Workflows } from './workflows.ts';

// The HTTP API: one Lambda function per route of functions/routes.ts, a Cognito JWT authorizer on
// every route that needs a user, throttling and access logs on the one ($default) stage. CloudFront
// serves it under /v1/* on the site's own origin, so there is no CORS.
//
// It is meant to be reached through CloudFront only, where the web ACL's rate rule is. Every route
// requires the origin secret CloudFront sends (OriginSecret); with a custom domain of the
// operator's (ApiDomain), CloudFront uses that as its origin and the execute-api endpoint is
// switched off altogether.

/** What a route's handler module touches, beyond the environment every function gets. */
interface RouteAccess {
  /** Every table: functions/lib/plans.ts and backups.ts name theirs at load, so a handler gets them all. */
  readonly tables?: 'read' | 'write';
  /** Workflows it starts executions of. */
  readonly starts?: readonly WorkflowName[];
  /** Reads executions' status and history. */
  readonly observesWorkflows?: boolean;
  /** Runs a provider in the customer's cloud (the credentials route reads the password parameter there); implies `federation: 'assume'`. */
  readonly customerAccount?: boolean;
  /**
   * Assumes the customer's role without running AwsProvider: to prove a new connection works, or to
   * sign download links to backups, which are in the customer's own bucket.
   */
  readonly assumesCustomerRole?: boolean;
  /** Tells customers how to connect: the account their role must trust (PLATFORM_ACCOUNT_ID) and where the template is published (CUSTOMER_TEMPLATE_URL). */
  readonly templateLaunch?: boolean;
  /**
   * The platform's federation role (CLOUD_FEDERATION_ROLE_ARN, and AZURE_APP_ID when there is one):
   * `assume` signs in to Google Cloud or Azure as it; `name` only tells customers what their
   * Workload Identity pool and the Entra app's consent must trust.
   */
  readonly federation?: 'assume' | 'name';
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
  // The recovery window is read on the primary (AwsProvider over SSM), and a restore checks it first.
  'api/get-recovery-window.ts': { tables: 'read', customerAccount: true },
  // Metrics are read where each node's collector keeps them: the local cloud's ring, or CloudWatch in the customer's account.
  'api/get-metrics.ts': { tables: 'read', customerAccount: true },
  // Top queries are read on the database's primary: the local cloud's server, or a cloud node through its command channel.
  'api/get-queries.ts': { tables: 'read', customerAccount: true },
  'api/reset-queries.ts': { tables: 'read', customerAccount: true },
  'api/get-alerts.ts': { tables: 'read' },
  'api/put-alert-settings.ts': { tables: 'write' },
  'api/restore-point-in-time.ts': { tables: 'write', starts: ['restore'], customerAccount: true },
  // Patroni is asked on the cluster's leader (AwsProvider over SSM); the deployment's roles are written after.
  'api/switchover.ts': { tables: 'write', starts: ['backup'], customerAccount: true },
  'api/stop-plan.ts': { tables: 'write', starts: ['stop'] },
  'api/start-plan.ts': { tables: 'write', starts: ['deploy'] },
  'api/set-role-password.ts': { tables: 'read', customerAccount: true },
  // An app's logs live where it runs (CloudWatch Logs in the customer's account on AWS).
  'api/get-component-logs.ts': { tables: 'read', customerAccount: true },
  'api/rollback-component.ts': { tables: 'write', starts: ['deploy'] },
  // Secrets' values go where the app reads them: SSM SecureString parameters in the customer's account on AWS.
  'api/put-component-secrets.ts': { tables: 'read', customerAccount: true },
  'api/get-client-address.ts': {},
  // The first list of a customer's accounts issues their ExternalId: a write. The gcloud and az
  // commands it gives name the federation role and the Entra app.
  'api/list-accounts.ts': { tables: 'write', templateLaunch: true, federation: 'name' },
  // A role that refuses is answered with the launch link; a Google Cloud project or Azure subscription
  // is tried as the federation role before it is stored.
  'api/create-account.ts': { tables: 'write', assumesCustomerRole: true, templateLaunch: true, federation: 'assume' },
  'api/delete-account.ts': { tables: 'write' },
};

/** A custom domain for the API, from the operator: `-c apiDomainName=… -c apiCertificateArn=…`. */
export interface ApiDomain {
  /** e.g. api.example.com; the operator points it (CNAME or alias) at the `ApiDomainTarget` output. */
  readonly domainName: string;
  /** An ACM certificate for domainName in the stack's own region (a regional endpoint's certificate is regional). */
  readonly certificateArn: string;
}

export const API_DOMAIN_CONTEXT = { domainName: 'apiDomainName', certificateArn: 'apiCertificateArn' } as const;

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** The custom API domain the context asks for: both values or neither, each well-formed, or the synth stops here with what is wrong. */
export function apiDomainFromContext(tryGetContext: (key: string) => unknown): ApiDomain | undefined {
  const read = (key: string): string | undefined => {
    const value: unknown = tryGetContext(key);
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`context ${key} must be a string`);
    return value.trim();
  };
  const domainName = read(API_DOMAIN_CONTEXT.domainName)?.toLowerCase();
  const certificateArn = read(API_DOMAIN_CONTEXT.certificateArn);
  if (domainName === undefined && certificateArn === undefined) return undefined;
  if (domainName === undefined || certificateArn === undefined) {
    throw new Error(
      `a custom API domain needs both -c ${API_DOMAIN_CONTEXT.domainName}=<host name> and -c ${API_DOMAIN_CONTEXT.certificateArn}=<ACM certificate ARN in the stack's region>`,
    );
  }
  if (!DOMAIN_NAME.test(domainName))
    throw new Error(`context ${API_DOMAIN_CONTEXT.domainName} must be a host name such as api.example.com, not ${JSON.stringify(domainName)}`);
  if (!CERTIFICATE_ARN.test(certificateArn))
    throw new Error(
      `context ${API_DOMAIN_CONTEXT.certificateArn} must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), not ${JSON.stringify(certificateArn)}`,
    );
  return { domainName, certificateArn };
}

export interface ApiProps {
  readonly auth: Auth;
  readonly data: Data;
  readonly workflows: Workflows;
  readonly customerTemplate: CustomerTemplate;
  readonly federation: CloudFederation;
  readonly removalPolicy: RemovalPolicy;
  /** Steady-state requests per second and burst for the whole stage. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** CloudFront's origin for the API; without it, the execute-api endpoint stays on (a synth warning says so). */
  readonly domain?: ApiDomain;
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
  readonly originSecret: OriginSecret;
  /** The operator's custom domain, when there is one: CloudFront's origin, instead of execute-api. */
  readonly customDomain: apigw.DomainName | undefined;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { auth, data, workflows, customerTemplate, federation } = props;
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'CloudSeed API (served under /v1 by the CloudFront distribution)',
      createDefaultStage: false,
      // CloudFront needs some way in: execute-api can be switched off only when the custom domain is one.
      disableExecuteApiEndpoint: props.domain !== undefined,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: props.removalPolicy });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });

    this.customDomain = props.domain ? this.mapCustomDomain(props.domain) : undefined;
    if (!props.domain) {
      Annotations.of(this).addWarningV2(
        '@cloudseed/api:execute-api-endpoint',
        `The API's execute-api endpoint stays reachable: without -c ${API_DOMAIN_CONTEXT.domainName}=… -c ${API_DOMAIN_CONTEXT.certificateArn}=… CloudFront has no other way to the API. Requests there still need the origin secret that only CloudFront sends, but they meet API Gateway before the web ACL.`,
      );
    }
    this.originSecret = new OriginSecret(this, 'OriginSecret');

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
      this.originSecret.grantVerifyTo(fn);
      if (route.auth) auth.trustTokensIn(fn);
      if (access.tables === 'write') data.grantReadWriteTo(fn);
      if (access.tables === 'read') data.grantReadTo(fn);
      if (access.starts) workflows.grantStartTo(fn, ...access.starts);
      if (access.observesWorkflows) workflows.grantObserveTo(fn);
      if (access.customerAccount) grantCustomerAccountAccess(fn, federation);
      if (access.assumesCustomerRole) grantCustomerRoleAssumption(fn);
      if (access.federation === 'assume') federation.federate(fn);
      if (access.federation === 'name') federation.nameTo(fn);
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
        const reason = `${route.method} ${route.path} is public by design (health, the OpenAPI document and the docs page need no token).`;
        acknowledge(httpRoute, 'AwsSolutions-APIG4', reason);
        acknowledge(httpRoute, 'AwsSolutions-COG4', reason);
      }
    }
    this.functions = functions;
  }

  /** The API's host name, for CloudFront's origin: the custom domain when there is one, else execute-api's. */
  get domainName(): string {
    if (this.customDomain) return this.customDomain.name;
    const stack = Stack.of(this);
    return `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }

  /** What CloudFront must send with every request to the API. */
  get originHeaders(): Record<string, string> {
    return this.originSecret.originHeaders;
  }

  private mapCustomDomain(domain: ApiDomain): apigw.DomainName {
    const customDomain = new apigw.DomainName(this, 'DomainName', {
      domainName: domain.domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
      endpointType: apigw.EndpointType.REGIONAL,
      securityPolicy: apigw.SecurityPolicy.TLS_1_2,
    });
    new apigw.ApiMapping(this, 'ApiMapping', { api: this.httpApi, domainName: customDomain, stage: this.stage });
    return customDomain;
  }
}
