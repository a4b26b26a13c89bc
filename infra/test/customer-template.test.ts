import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER_TEMPLATE_KEY } from '../lib/customer-template.ts';
import { actionsOf, flat, json, list, pathOf, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { CfnResource, CfnTemplate, Statement, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function resourceAt(path: string): [string, CfnResource] {
  const found = Object.entries(json(app.platformTemplate).Resources).find(([, resource]) => pathOf(resource) === `CloudSeedPlatform/${path}`);
  if (!found) throw new Error(`nothing at ${path}`);
  return found;
}

function templateDeployment(): CfnResource {
  const found = resourcesOfType(app.platformTemplate, 'Custom::CDKBucketDeployment').filter(([, resource]) =>
    pathOf(resource).startsWith('CloudSeedPlatform/CustomerTemplate/'),
  );
  expect(found).toHaveLength(1);
  return found[0]![1];
}

/** A template without CDK's construct-path metadata (the tests synthesize with it, as the CLI does). */
function withoutMetadata(template: CfnTemplate): CfnTemplate {
  const resources = Object.fromEntries(Object.entries(template.Resources).map(([id, { Metadata: _metadata, ...resource }]) => [id, resource]));
  return { ...template, Resources: resources };
}

describe('the published customer template', () => {
  it('is the synthesized CloudSeedCustomerAccount template, as one JSON object in the template bucket', () => {
    const deployment = templateDeployment();
    const [bucketId] = resourceAt('CustomerTemplate/Bucket/Resource');
    expect(referencedId(props(deployment).DestinationBucketName)).toBe(bucketId);
    expect(props(deployment).SystemMetadata).toEqual({ 'content-type': 'application/json' });
    const keys = list(props(deployment).SourceObjectKeys);
    expect(keys).toHaveLength(1);

    const staged = join(app.assembly.directory, `asset.${String(keys[0]).replace(/\.zip$/, '')}`, CUSTOMER_TEMPLATE_KEY);
    const published = JSON.parse(readFileSync(staged, 'utf8')) as CfnTemplate;

    expect(published).toEqual(withoutMetadata(json(app.customerTemplate)));
    expect(Object.values(published.Resources).some((resource) => resource.Metadata !== undefined)).toBe(false);
    expect(Object.keys(published.Parameters ?? {}).sort()).toEqual(['ExternalId', 'PlatformAccountId']);
  });

  it('may be read by anyone, that one object only; ACLs stay blocked and every other request needs TLS', () => {
    const [bucketId, bucket] = resourceAt('CustomerTemplate/Bucket/Resource');
    expect(props(bucket).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    expect(props(bucket).OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(props(bucket).BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    const [logsId] = resourceAt('AccessLogs/Bucket/Resource');
    expect(referencedId(record(props(bucket).LoggingConfiguration).DestinationBucketName)).toBe(logsId);

    const policies = resourcesOfType(app.platformTemplate, 'AWS::S3::BucketPolicy').filter(
      ([, policy]) => referencedId(props(policy).Bucket) === bucketId,
    );
    expect(policies).toHaveLength(1);
    const statements = record(props(policies[0]![1]).PolicyDocument).Statement as Statement[];
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]!.Principal).toEqual({ AWS: '*' });
    expect(actionsOf(allows[0]!)).toEqual(['s3:GetObject']);
    expect(list(allows[0]!.Resource).map(flat)).toEqual([`\${${bucketId}.Arn}/${CUSTOMER_TEMPLATE_KEY}`]);
    expect(allows[0]!.Condition).toBeUndefined();
    expect(statements.filter((statement) => statement.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  it('is written by a deployment handler of its own, which may write to the template bucket and no other of the platform', () => {
    const siteDeployment = resourcesOfType(app.platformTemplate, 'Custom::CDKBucketDeployment').find(([, resource]) =>
      pathOf(resource).startsWith('CloudSeedPlatform/Web/'),
    )!;
    expect(flat(props(templateDeployment()).ServiceToken)).not.toBe(flat(props(siteDeployment[1]).ServiceToken));

    const [roleId] = resourceAt('CustomerTemplate/Content/Role/Resource');
    const statements = resourcesOfType(app.platformTemplate, 'AWS::IAM::Policy')
      .filter(([, policy]) => list(props(policy).Roles).some((role) => referencedId(role) === roleId))
      .flatMap(([, policy]) => list(record(props(policy).PolicyDocument).Statement) as Statement[]);
    const [templateBucketId] = resourceAt('CustomerTemplate/Bucket/Resource');
    const platformBuckets = resourcesOfType(app.platformTemplate, 'AWS::S3::Bucket').map(([id]) => id);
    const writes = statements.filter((statement) => actionsOf(statement).some((action) => /^s3:(PutObject|DeleteObject)/.test(action)));
    const written = writes
      .flatMap((statement) => list(statement.Resource).map(flat))
      .filter((resource) => platformBuckets.some((id) => resource.includes(`\${${id}.Arn}`)));
    expect(written.length).toBeGreaterThan(0);
    for (const resource of written) expect(resource).toContain(`\${${templateBucketId}.Arn}`);
  });

  it('is given as the S3 URL CloudFormation launches from', () => {
    const [bucketId] = resourceAt('CustomerTemplate/Bucket/Resource');
    expect(flat(json(app.platformTemplate).Outputs?.CustomerTemplateUrl?.Value)).toBe(
      `https://\${${bucketId}.RegionalDomainName}/${CUSTOMER_TEMPLATE_KEY}`,
    );
  });
});
