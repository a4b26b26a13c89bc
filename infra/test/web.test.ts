import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VIEWER_ADDRESS_HEADER } from '@cloudseed/functions/lib/headers';
import { inlineScriptHashes } from '../lib/web-policy.ts';
import { API_RATE_LIMIT } from '../lib/web.ts';
import { json, pathOf, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

// CloudFront's managed policies, by their fixed ids.
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

const INLINE_SCRIPT = 'window.__app = { start: 1 };';
let buildDir: string;
let withoutSpa: Synthesized;
let withSpa: Synthesized;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'cloudseed-web-'));
  buildDir = join(root, 'build');
  mkdirSync(buildDir);
  writeFileSync(join(buildDir, 'index.html'), `<!doctype html><script type="module" src="/app.js"></script><script>${INLINE_SCRIPT}</script>`);
  withoutSpa = synth({ webBuildDir: join(root, 'not-built') });
  withSpa = synth({ webBuildDir: buildDir });
}, 60_000);

afterAll(() => {
  rmSync(join(buildDir, '..'), { recursive: true, force: true });
});

function distribution(app: Synthesized): Record<string, unknown> {
  const [[, resource] = []] = resourcesOfType(app.platformTemplate, 'AWS::CloudFront::Distribution');
  return record(props(resource!).DistributionConfig);
}

function behaviour(app: Synthesized, pattern: string): Record<string, unknown> {
  const found = (distribution(app).CacheBehaviors as Record<string, unknown>[]).find((candidate) => candidate.PathPattern === pattern);
  if (!found) throw new Error(`no behaviour for ${pattern}`);
  return found;
}

function originOf(app: Synthesized, originId: unknown): Record<string, unknown> {
  const found = (distribution(app).Origins as Record<string, unknown>[]).find((origin) => origin.Id === originId);
  if (!found) throw new Error(`no origin ${String(originId)}`);
  return found;
}

describe('Web', () => {
  it('serves the private bucket through origin access control by default, and the API under /v1/* uncached with the viewer’s headers', () => {
    const config = distribution(withoutSpa);
    const defaultBehaviour = record(config.DefaultCacheBehavior);
    expect(originOf(withoutSpa, defaultBehaviour.TargetOriginId).OriginAccessControlId).toBeDefined();
    expect(defaultBehaviour.ViewerProtocolPolicy).toBe('redirect-to-https');

    const api = behaviour(withoutSpa, '/v1/*');
    expect(api).toMatchObject({
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      ViewerProtocolPolicy: 'https-only',
    });
    expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']));
    const apiOrigin = originOf(withoutSpa, api.TargetOriginId);
    expect(apiOrigin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    expect(JSON.stringify(apiOrigin.DomainName)).toContain('.execute-api.');

    const docs = behaviour(withoutSpa, '/docs-assets/*');
    expect(docs.TargetOriginId).toBe(defaultBehaviour.TargetOriginId);
  });

  it('sends the API’s own errors through: no distribution-wide error pages', () => {
    expect(distribution(withoutSpa).CustomErrorResponses).toBeUndefined();
  });

  const cloudFrontFunction = (comment: RegExp) => {
    const found = resourcesOfType(withoutSpa.platformTemplate, 'AWS::CloudFront::Function').find(([, fn]) =>
      comment.test(String(record(props(fn).FunctionConfig).Comment)),
    );
    if (!found) throw new Error(`no CloudFront function ${String(comment)}`);
    return { id: found[0], code: String(props(found[1]).FunctionCode) };
  };

  it('serves the landing page at /, the SPA’s other pages from /200.html, and files as they are', () => {
    const handler = runInNewContext(`${cloudFrontFunction(/single-page app/).code}; handler`) as (event: { request: { uri: string } }) => {
      uri: string;
    };
    expect(handler({ request: { uri: '/plans/3f0c' } }).uri).toBe('/200.html');
    expect(handler({ request: { uri: '/login' } }).uri).toBe('/200.html');
    expect(handler({ request: { uri: '/' } }).uri).toBe('/index.html');
    expect(handler({ request: { uri: '/_app/immutable/start.js' } }).uri).toBe('/_app/immutable/start.js');
    expect(handler({ request: { uri: '/config.json' } }).uri).toBe('/config.json');
    const association = (record(distribution(withoutSpa).DefaultCacheBehavior).FunctionAssociations as Record<string, unknown>[])[0];
    expect(association?.EventType).toBe('viewer-request');
  });

  it('tells the API the viewer’s own address on every /v1/* request, whatever the caller sent', () => {
    const fn = cloudFrontFunction(/address of the viewer/);
    const handler = runInNewContext(`${fn.code}; handler`) as (event: unknown) => { headers: Record<string, { value: string }> };
    const request = handler({
      viewer: { ip: '203.0.113.7' },
      request: { uri: '/v1/client-address', headers: { [VIEWER_ADDRESS_HEADER]: { value: '10.0.0.1' } } },
    });
    expect(request.headers[VIEWER_ADDRESS_HEADER]).toEqual({ value: '203.0.113.7' });
    const api = behaviour(withoutSpa, '/v1/*');
    const associations = api.FunctionAssociations as Record<string, unknown>[];
    expect(associations).toHaveLength(1);
    expect(associations[0]?.EventType).toBe('viewer-request');
    expect(JSON.stringify(associations[0]?.FunctionARN)).toContain(fn.id);
  });

  it('adds HSTS, a content security policy, nosniff, DENY framing and a referrer policy to every answer', () => {
    const [[policyId, policy] = []] = resourcesOfType(withoutSpa.platformTemplate, 'AWS::CloudFront::ResponseHeadersPolicy');
    const headers = record(record(props(policy!).ResponseHeadersPolicyConfig).SecurityHeadersConfig);
    expect(headers.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
    expect(record(headers.StrictTransportSecurity).AccessControlMaxAgeSec).toBeGreaterThanOrEqual(31_536_000);
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy).toMatchObject({ ReferrerPolicy: 'strict-origin-when-cross-origin' });
    expect(JSON.stringify(record(headers.ContentSecurityPolicy).ContentSecurityPolicy)).toContain("frame-ancestors 'none'");
    const config = distribution(withoutSpa);
    for (const used of [record(config.DefaultCacheBehavior), ...(config.CacheBehaviors as Record<string, unknown>[])]) {
      expect(referencedId(used.ResponseHeadersPolicyId)).toBe(policyId);
    }
  });

  it('allows the built SPA’s inline scripts by hash, not with unsafe-inline', () => {
    const hash = `'sha256-${createHash('sha256').update(INLINE_SCRIPT).digest('base64')}'`;
    expect(inlineScriptHashes(buildDir)).toEqual([hash]);
    const [[, policy] = []] = resourcesOfType(withSpa.platformTemplate, 'AWS::CloudFront::ResponseHeadersPolicy');
    const csp = JSON.stringify(record(record(record(props(policy!).ResponseHeadersPolicyConfig).SecurityHeadersConfig).ContentSecurityPolicy));
    expect(csp).toContain(`script-src 'self' ${hash};`);
  });

  it('deploys config.json and the docs assets always, and the SPA only once it is built', () => {
    const siteDeployment = (app: Synthesized) => {
      const found = resourcesOfType(app.platformTemplate, 'Custom::CDKBucketDeployment').find(([, resource]) =>
        pathOf(resource).startsWith('CloudSeedPlatform/Web/'),
      );
      if (!found) throw new Error('no deployment of the site');
      return found[1];
    };
    expect(props(siteDeployment(withoutSpa)).SourceObjectKeys).toHaveLength(3);
    expect(props(siteDeployment(withSpa)).SourceObjectKeys).toHaveLength(4);
    const markers = JSON.stringify(props(siteDeployment(withoutSpa)).SourceMarkers);
    const poolId = resourcesOfType(withoutSpa.platformTemplate, 'AWS::Cognito::UserPool')[0]![0];
    const clientId = resourcesOfType(withoutSpa.platformTemplate, 'AWS::Cognito::UserPoolClient')[0]![0];
    expect(markers).toContain(poolId);
    expect(markers).toContain(clientId);
  });

  it('logs CloudFront access to the access log bucket', () => {
    const logs = Object.entries(json(withoutSpa.platformTemplate).Resources).find(
      ([, resource]) => pathOf(resource) === 'CloudSeedPlatform/AccessLogs/Bucket/Resource',
    );
    expect(JSON.stringify(distribution(withoutSpa).Logging)).toContain(logs![0]);
  });

  it('outputs the URL, the user pool and its client', () => {
    const outputs = json(withoutSpa.platformTemplate).Outputs ?? {};
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['Url', 'UserPoolId', 'UserPoolClientId']));
  });
});

describe('the web ACL', () => {
  it('blocks a client address that sends more than API_RATE_LIMIT requests to /v1/ in five minutes, at CloudFront', () => {
    const acls = resourcesOfType(withoutSpa.platformTemplate, 'AWS::WAFv2::WebACL');
    expect(acls).toHaveLength(1);
    const [aclId, acl] = acls[0]!;
    expect(props(acl).Scope).toBe('CLOUDFRONT');
    expect(props(acl).DefaultAction).toEqual({ Allow: {} });
    expect(props(acl).Rules).toEqual([
      {
        Name: 'ApiRatePerAddress',
        Priority: 0,
        Action: { Block: {} },
        VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: 'CloudSeedApiRatePerAddress' },
        Statement: {
          RateBasedStatement: {
            Limit: API_RATE_LIMIT,
            EvaluationWindowSec: 300,
            AggregateKeyType: 'IP',
            ScopeDownStatement: {
              ByteMatchStatement: {
                FieldToMatch: { UriPath: {} },
                PositionalConstraint: 'STARTS_WITH',
                SearchString: '/v1/',
                TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              },
            },
          },
        },
      },
    ]);
    // CloudFront web ACLs exist only in us-east-1: the ACL and its association follow the stack's region.
    const condition = acl.Condition as string;
    expect(json(withoutSpa.platformTemplate).Conditions?.[condition]).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] });
    expect(distribution(withoutSpa).WebACLId).toEqual({ 'Fn::If': [condition, { 'Fn::GetAtt': [aclId, 'Arn'] }, { Ref: 'AWS::NoValue' }] });
  });
});
