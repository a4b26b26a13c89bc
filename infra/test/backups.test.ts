import { beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_SCHEDULE_GROUP } from '../lib/backups.ts';
import { actionsOf, allStatements, environmentOf, flat, json, pathOf, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function resourceAt(path: string) {
  const found = Object.entries(json(app.platformTemplate).Resources).find(([, resource]) => pathOf(resource) === `CloudSeedPlatform/${path}`);
  if (!found) throw new Error(`nothing at ${path}`);
  return found;
}

describe('every bucket', () => {
  it('blocks public access (all of it but the customer template’s one object), is encrypted, and refuses requests without TLS', () => {
    const buckets = resourcesOfType(app.platformTemplate, 'AWS::S3::Bucket');
    expect(buckets.map(([, bucket]) => pathOf(bucket)).sort()).toEqual([
      'CloudSeedPlatform/AccessLogs/Bucket/Resource',
      'CloudSeedPlatform/CustomerTemplate/Bucket/Resource',
      'CloudSeedPlatform/Web/Bucket/Resource',
    ]);
    const [templateBucketId] = resourceAt('CustomerTemplate/Bucket/Resource');
    const policies = resourcesOfType(app.platformTemplate, 'AWS::S3::BucketPolicy');
    for (const [id, bucket] of buckets) {
      // The customer template's bucket may have a public policy, which customer-template.test.ts checks names one object.
      const publicPolicy = id === templateBucketId;
      expect(props(bucket).PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: !publicPolicy,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: !publicPolicy,
      });
      expect(props(bucket).BucketEncryption, id).toBeDefined();
      const policy = policies.find(([, candidate]) => referencedId(props(candidate).Bucket) === id);
      expect(policy, `${id} has a bucket policy`).toBeDefined();
      const statements = record(props(policy![1]).PolicyDocument).Statement as { Effect: string; Condition?: unknown; Action: unknown }[];
      expect(statements, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('Backups', () => {
  it('keeps no backups in the platform: no bucket of its own, and no function is told of one', () => {
    expect(
      Object.values(json(app.platformTemplate).Resources).filter((resource) => pathOf(resource).startsWith('CloudSeedPlatform/Backups/Bucket')),
    ).toEqual([]);
    for (const [id, fn] of resourcesOfType(app.platformTemplate, 'AWS::Lambda::Function'))
      expect(environmentOf(fn), id).not.toHaveProperty('BACKUP_BUCKET');
    expect(Object.keys(json(app.platformTemplate).Outputs ?? {})).not.toContain('BackupBucket');
  });

  it('has the schedule group, and a role only Scheduler in this account may assume, that may only start the backup workflow', () => {
    app.platformTemplate.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: BACKUP_SCHEDULE_GROUP });
    const [roleId, role] = resourceAt('Backups/SchedulerRole/Resource');
    const trust = record(props(role).AssumeRolePolicyDocument).Statement as {
      Principal: unknown;
      Condition: Record<string, Record<string, unknown>>;
    }[];
    expect(trust).toHaveLength(1);
    expect(trust[0]!.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust[0]!.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(flat(trust[0]!.Condition.ArnLike?.['aws:SourceArn'])).toContain(`:schedule/${BACKUP_SCHEDULE_GROUP}/*`);

    const [backupMachineId] = resourceAt('Workflows/Backup/Resource');
    const granted = allStatements(app.platformTemplate).filter(({ owner }) =>
      (props(json(app.platformTemplate).Resources[owner]!).Roles as unknown[] | undefined)?.some((candidate) => referencedId(candidate) === roleId),
    );
    expect(granted.map(({ statement }) => ({ actions: actionsOf(statement), resource: referencedId(statement.Resource) }))).toEqual([
      { actions: ['states:StartExecution'], resource: backupMachineId },
    ]);
  });
});
