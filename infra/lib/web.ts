import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CfnCondition, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { Api } from './api.ts';
import type { Auth } from './auth.ts';
import { ContentDeployment } from './content-deployment.ts';
import { acknowledge } from './nag.ts';
import { REPO_ROOT } from './names.ts';
import { contentSecurityPolicy, inlineScriptHashes } from './web-policy.ts';
import { VIEWER_ADDRESS_HEADER } from '@cloudseed/functions/lib/headers';
import type { PublicConfig } from '@cloudseed/shared/config';

// The site: a private bucket behind CloudFront (origin access control), the API under /v1/* on
// the same origin, Swagger UI's assets under /docs-assets/*, security headers on every answer.
// The bucket gets /config.json (what the SPA needs to find Cognito and the API), the docs assets
// and, once the SPA has been built (web/build), the SPA itself.

export const WEB_BUILD_DIR = join(REPO_ROOT, 'web', 'build');
export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const;
/** Requests to /v1/* one client address may make in five minutes before the web ACL blocks it (about 3 a second). */
export const API_RATE_LIMIT = 1000;

export interface WebProps {
  readonly api: Api;
  readonly auth: Auth;
  readonly accessLogs: s3.IBucket;
  readonly retain: boolean;
  /** The built SPA; deployed only when the directory exists at synth time. @default web/build */
  readonly buildDir?: string;
}

// `/` is the prerendered landing page; every other path without a file extension is a page of the
// single-page app, served by its fallback, 200.html. A CloudFront Function rather than 403/404
// error responses: those would apply to /v1/* too and turn the API's own 404s (another user's
// plan) into the app's page.
const SPA_REWRITE = `function handler(event) {
  var request = event.request;
  if (request.uri === '/') {
    request.uri = '/index.html';
    return request;
  }
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) request.uri = '/200.html';
  return request;
}`;

// Behind CloudFront the API sees an edge server's address, not the customer's. This sets the
// viewer's own address on every API request, replacing any value the caller sent, so the
// editor's "Add my IP" can offer the address the customer's database traffic will come from.
const VIEWER_ADDRESS = `function handler(event) {
  var request = event.request;
  request.headers['${VIEWER_ADDRESS_HEADER}'] = { value: event.viewer.ip };
  return request;
}`;

export class Web extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly deployment: s3deploy.BucketDeployment;
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: WebProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const buildDir = props.buildDir ?? WEB_BUILD_DIR;
    const cognitoOrigin = `https://cognito-idp.${stack.region}.${stack.urlSuffix}`;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'web-bucket/',
      removalPolicy,
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'CloudSeed security headers',
      securityHeadersBehavior: {
        // The API's docs page sends its own, stricter policy (with its inline script's hash): keep it.
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(cognitoOrigin, inlineScriptHashes(buildDir)), override: false },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    const site = origins.S3BucketOrigin.withOriginAccessControl(this.bucket);
    const spaRewrite = new cloudfront.Function(this, 'SpaRewrite', {
      comment: 'The landing page at /, every other page of the single-page app from /200.html',
      code: cloudfront.FunctionCode.fromInline(SPA_REWRITE),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const viewerAddress = new cloudfront.Function(this, 'ViewerAddress', {
      comment: 'Tells the API the address of the viewer, not of the edge server',
      code: cloudfront.FunctionCode.fromInline(VIEWER_ADDRESS),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    // The origin secret goes to the API origin only (never to S3): the API refuses requests without it.
    const api = new origins.HttpOrigin(props.api.domainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      customHeaders: props.api.originHeaders,
    });

    this.webAcl = apiRateLimit(this);
    const inUsEast1 = this.webAcl.cfnOptions.condition!;

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'CloudSeed',
      webAclId: Fn.conditionIf(inUsEast1.logicalId, this.webAcl.attrArn, Fn.ref('AWS::NoValue')).toString(),
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: site,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: spaRewrite, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        '/v1/*': {
          origin: api,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: headers,
          functionAssociations: [{ function: viewerAddress, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
        },
        '/docs-assets/*': {
          origin: site,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: headers,
        },
      },
    });
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'CloudSeed is offered worldwide; its users sign in with Cognito and there is no country it must be withheld from.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      "The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; a custom domain with an ACM certificate (TLSv1.2_2021) is an installation's own setup.",
    );

    const config: PublicConfig = {
      mode: 'aws',
      region: stack.region,
      userPoolId: props.auth.userPool.userPoolId,
      userPoolClientId: props.auth.client.userPoolClientId,
      cognitoEndpoint: cognitoOrigin,
      apiBase: `https://${this.distribution.distributionDomainName}`,
    };
    const sources = [
      s3deploy.Source.jsonData('config.json', config),
      ...docsAssetSources(),
      ...(existsSync(buildDir) ? [s3deploy.Source.asset(buildDir)] : []),
    ];
    this.deployment = new ContentDeployment(this, 'Content', {
      bucket: this.bucket,
      sources,
      what: 'the site',
      memoryLimit: 512,
      distribution: this.distribution,
    }).deployment;
  }
}

/**
 * A per-address rate limit on the API, in a web ACL on the distribution. API Gateway HTTP APIs
 * cannot be associated with a (regional) web ACL, so it sits at CloudFront, whose web ACLs AWS
 * creates only in us-east-1 (scope CLOUDFRONT). The platform stack is region-agnostic, so the web
 * ACL exists when the stack is deployed in us-east-1; deployed elsewhere the API keeps the stage's
 * throttle only (a cross-region web ACL would need a second, us-east-1 stack).
 */
function apiRateLimit(scope: Construct): wafv2.CfnWebACL {
  const inUsEast1 = new CfnCondition(scope, 'InUsEast1', { expression: Fn.conditionEquals(Stack.of(scope).region, 'us-east-1') });
  const metrics = (name: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: name });
  const acl = new wafv2.CfnWebACL(scope, 'WebAcl', {
    description: 'CloudSeed: a rate limit per client address on the API',
    scope: 'CLOUDFRONT',
    defaultAction: { allow: {} },
    visibilityConfig: metrics('CloudSeedWebAcl'),
    rules: [
      {
        name: 'ApiRatePerAddress',
        priority: 0,
        action: { block: {} },
        visibilityConfig: metrics('CloudSeedApiRatePerAddress'),
        statement: {
          rateBasedStatement: {
            limit: API_RATE_LIMIT,
            evaluationWindowSec: 300,
            aggregateKeyType: 'IP',
            scopeDownStatement: {
              byteMatchStatement: {
                fieldToMatch: { uriPath: {} },
                positionalConstraint: 'STARTS_WITH',
                searchString: '/v1/',
                textTransformations: [{ priority: 0, type: 'NONE' }],
              },
            },
          },
        },
      },
    ],
  });
  acl.cfnOptions.condition = inUsEast1;
  return acl;
}

/** Swagger UI's stylesheet and bundle from swagger-ui-dist, under docs-assets/ as the docs page links them. */
function docsAssetSources(): s3deploy.ISource[] {
  const directory = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return DOCS_ASSETS.map((name) => s3deploy.Source.data(`docs-assets/${name}`, readFileSync(join(directory, name), 'utf8')));
}
