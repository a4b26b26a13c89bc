import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { backupScript } from '@cloudseed/functions/providers/aws/backup-scripts';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import { CloudSeedFunction } from '../lib/function.ts';
import { routes } from '@cloudseed/functions/routes';
import { stepModules } from '@cloudseed/functions/steps/index';
import { actionsOf, allStatements, cloudSeedFunctions, environmentOf, json, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

describe('every CloudSeed Lambda function', () => {
  it('exists once per route, per workflow step and for the health check', () => {
    expect(cloudSeedFunctions(app.platformTemplate)).toHaveLength(routes.length + Object.keys(stepModules).length + 1);
  });

  it('runs Node 24 on arm64 with X-Ray, JSON logs in a log group with a retention, and source maps', () => {
    const logGroups = new Map(resourcesOfType(app.platformTemplate, 'AWS::Logs::LogGroup'));
    for (const [id, fn] of cloudSeedFunctions(app.platformTemplate)) {
      const properties = props(fn);
      expect(properties.Runtime, id).toBe('nodejs24.x');
      expect(properties.Architectures, id).toEqual(['arm64']);
      expect(properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(properties.Handler, id).toBe('index.handler');
      const logGroup = logGroups.get(referencedId(record(properties.LoggingConfig).LogGroup) ?? '');
      expect(logGroup, `${id} has a log group of its own`).toBeDefined();
      expect(props(logGroup!).RetentionInDays, id).toBeTypeOf('number');
      const environment = environmentOf(fn);
      expect(environment, id).toMatchObject({ CLOUDSEED_MODE: 'aws', NODE_OPTIONS: '--enable-source-maps' });
      expect(String(environment.POWERTOOLS_SERVICE_NAME), id).toMatch(/^cloudseed-/);
    }
  });

  it('runs with a role of its own that has no managed policies', () => {
    const roles = new Map(resourcesOfType(app.platformTemplate, 'AWS::IAM::Role'));
    const seen = new Set<string>();
    for (const [id, fn] of cloudSeedFunctions(app.platformTemplate)) {
      const roleId = referencedId(props(fn).Role) ?? '';
      const role = roles.get(roleId);
      expect(role, id).toBeDefined();
      expect(props(role!).ManagedPolicyArns, id).toBeUndefined();
      expect(seen.has(roleId), `${id} shares its role`).toBe(false);
      seen.add(roleId);
    }
  });
});

describe('IAM across both stacks', () => {
  it('has no statement allowing every action, or every action of a service', () => {
    for (const template of [app.platformTemplate, app.customerTemplate]) {
      for (const { owner, statement } of allStatements(template)) {
        // Denials may be broad: the buckets' and topic's TLS-only policies deny s3:* and sns:Publish over plain HTTP.
        if (statement.Effect !== 'Allow') continue;
        // A key policy's statement for the account itself is kms:* by design: it lets IAM policies govern the key.
        const serviceWide = json(template).Resources[owner]?.Type === 'AWS::KMS::Key' ? /^$/ : /^[\w-]+:\*$/;
        for (const action of actionsOf(statement)) {
          expect(action, `${owner} allows ${action}`).not.toBe('*');
          expect(action, `${owner} allows ${action}`).not.toBe('*:*');
          expect(action, `${owner} allows ${action}`).not.toMatch(serviceWide);
        }
      }
    }
  });

  // ECS task definitions and Application Auto Scaling's Describe calls take no resource (the service's IAM reference).
  it('only allows Resource "*" for actions without resource-level permissions', () => {
    const allowedOnEverything =
      /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$|ec2:Describe|elasticloadbalancing:Describe|ssm:DescribeInstanceInformation$|ssm:GetCommandInvocation$|ssm:UpdateInstanceInformation$|ec2messages:|ssmmessages:(Create|Open)ControlChannel$|cloudfront:(CreateInvalidation|GetInvalidation)$|kms:|ecr:GetAuthorizationToken$|ecs:(RegisterTaskDefinition|DescribeTaskDefinition|DeregisterTaskDefinition|ListTaskDefinitions|ListTasks)$|application-autoscaling:Describe)/;
    for (const template of [app.platformTemplate, app.customerTemplate]) {
      for (const { owner, statement } of allStatements(template)) {
        // Key policies name their own key as "*"; they are checked where the key is.
        if (json(template).Resources[owner]?.Type === 'AWS::KMS::Key') continue;
        if (statement.Effect !== 'Allow' || !JSON.stringify(statement.Resource ?? '').match(/^"\*"$|^\["\*"\]$/)) continue;
        for (const action of actionsOf(statement)) expect(action, `${owner} allows ${action} on *`).toMatch(allowedOnEverything);
      }
    }
  });
});

describe('a function bundle', () => {
  it('carries the node scripts beside index.mjs, where the bundled code reads them', () => {
    // Bundled as CDK bundles every CloudSeed function (esbuild, then the hooks), with the backup scripts as the entry.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': ['*'] } });
    new CloudSeedFunction(new Stack(app, 'Probe'), 'Scripts', { module: 'providers/aws/backup-scripts.ts', service: 'cloudseed-probe' });
    const assembly = app.synth();
    onTestFinished(() => rmSync(assembly.directory, { recursive: true, force: true }));
    const [asset] = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(asset).toBeDefined();
    const bundle = join(assembly.directory, asset!);

    const source = fileURLToPath(SCRIPT_FOLDER);
    const files = readdirSync(source).filter((name) => name.endsWith('.sh'));
    expect(files).toEqual(expect.arrayContaining(['prelude-aws.sh', 'prelude-gcp.sh', 'prelude-azure.sh']));
    for (const file of files) expect(readFileSync(join(bundle, 'sh', file), 'utf8'), file).toBe(readFileSync(join(source, file), 'utf8'));

    // The bundle, run by Node from its own folder, renders what the sources render.
    const input = { bucket: 'b', key: 'plans/p-1/db/k.dump', region: 'eu-west-1', database: 'app', owner: 'app', port: 5432, binDir: '/usr/bin' };
    const program = `const { backupScript } = await import(${JSON.stringify(pathToFileURL(join(bundle, 'index.mjs')).href)}); process.stdout.write(backupScript(${JSON.stringify(input)}));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: bundle, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(backupScript(input));
  }, 120_000);
});
