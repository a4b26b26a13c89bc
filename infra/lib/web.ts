import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import type { Api } from './api.ts';
import type { Auth } from './auth.ts';
import { ContentDeployment } from './content-deployment.ts';
import { acknowledge } from './nag.ts';
import { REPO_ROOT } from './names.ts';

// The site: a private bucket behind CloudFront (origin access control), the API under /v1/* on
// the same origin, Swagger UI's assets under /docs-assets/*, security headers on every answer.
// The bucket gets /config.json (what the SPA needs to find Cognito and the API), the docs assets
// and, once the SPA has been built (web/build), the SPA itself.

export const WEB_BUILD_DIR = join(REPO_ROOT, 'web', 'build');
export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js'] as const;

export interface WebProps {
  readonly api: Api;
  readonly auth: Auth;
  readonly accessLogs: s3.IBucket;
  readonly retain: boolean;
  /** The built SPA; deployed only when the directory exists at synth time. @default web/build */
  readonly buildDir?: string;
}

// Paths with a file extension are files; every other path is a route of the single-page app.
// A CloudFront Function rather than 403/404 error responses: those would apply to /v1/* too and
// turn the API's own 404s (another user's plan) into the SPA's index page.
const SPA_REWRITE = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

/** sha256 sources for the inline scripts of the built SPA's HTML files, so script-src needs no 'unsafe-inline'. */
export function inlineScriptHashes(buildDir: string): string[] {
  if (!existsSync(buildDir)) return [];
  const hashes = new Set<string>();
  const files = readdirSync(buildDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.html'));
  for (const file of files) {
    for (const match of readFileSync(join(buildDir, file), 'utf8').matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)) {
      const body = match[1] ?? '';
      if (body.trim() !== '') hashes.add(`'sha256-${createHash('sha256').update(body).digest('base64')}'`);
    }
  }
  return [...hashes].sort();
}

export function contentSecurityPolicy(cognitoOrigin: string, scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src ${["'self'", ...scriptHashes].join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${cognitoOrigin}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export class Web extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly deployment: s3deploy.BucketDeployment;

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
      comment: 'Routes of the single-page app are served by /index.html',
      code: cloudfront.FunctionCode.fromInline(SPA_REWRITE),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const api = new origins.HttpOrigin(props.api.domainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'CloudSeed',
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
      'AwsSolutions-CFR2',
      'No WAF web ACL yet: the API is throttled at the stage and every non-public route needs a Cognito access token; a CloudFront web ACL (us-east-1, paid per request) is an operator choice per installation.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      "The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; a custom domain with an ACM certificate (TLSv1.2_2021) is an installation's own setup.",
    );

    const sources = [
      s3deploy.Source.jsonData('config.json', {
        mode: 'aws',
        region: stack.region,
        userPoolId: props.auth.userPool.userPoolId,
        userPoolClientId: props.auth.client.userPoolClientId,
        cognitoEndpoint: cognitoOrigin,
        apiBase: `https://${this.distribution.distributionDomainName}`,
      }),
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

/** Swagger UI's stylesheet and bundle from swagger-ui-dist, under docs-assets/ as the docs page links them. */
function docsAssetSources(): s3deploy.ISource[] {
  const directory = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return DOCS_ASSETS.map((name) => s3deploy.Source.data(`docs-assets/${name}`, readFileSync(join(directory, name), 'utf8')));
}
