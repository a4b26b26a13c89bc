import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import { entryName, FUNCTION_MODULES, JOB_MODULES } from '../lib/function-bundle.ts';
import { CloudSeedFunction } from '../lib/function.ts';
import { REPO_ROOT } from '../lib/names.ts';
import { routes } from '@cloudseed/functions/routes';
import { stepModules } from '@cloudseed/functions/steps/index';
import { actionsOf, allStatements, cloudSeedFunctions, environmentOf, flat, json, props, record, referencedId, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

describe('every CloudSeed Lambda function', () => {
  it('exists once per route, per workflow step and per job (the health check, the alert rules)', () => {
    expect(cloudSeedFunctions(app.platformTemplate)).toHaveLength(routes.length + Object.keys(stepModules).length + Object.keys(JOB_MODULES).length);
  });

  it('runs Node 24 on arm64 with X-Ray, JSON logs in a log group with a retention, and source maps', () => {
    const logGroups = new Map(resourcesOfType(app.platformTemplate, 'AWS::Logs::LogGroup'));
    for (const [id, fn] of cloudSeedFunctions(app.platformTemplate)) {
      const properties = props(fn);
      expect(properties.Runtime, id).toBe('nodejs24.x');
      expect(properties.Architectures, id).toEqual(['arm64']);
      expect(properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      const logGroup = logGroups.get(referencedId(record(properties.LoggingConfig).LogGroup) ?? '');
      expect(logGroup, `${id} has a log group of its own`).toBeDefined();
      expect(props(logGroup!).RetentionInDays, id).toBeTypeOf('number');
      const environment = environmentOf(fn);
      expect(environment, id).toMatchObject({ CLOUDSEED_MODE: 'aws', NODE_OPTIONS: '--enable-source-maps' });
      expect(String(environment.POWERTOOLS_SERVICE_NAME), id).toMatch(/^cloudseed-/);
    }
  });

  it('runs its own module’s entry of the bundle, and every entry runs in one function', () => {
    const handlers = cloudSeedFunctions(app.platformTemplate).map(([, fn]) => props(fn).Handler);
    expect(handlers.sort()).toEqual(FUNCTION_MODULES.map((module) => `${entryName(module)}.handler`).sort());
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
      /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$|ec2:Describe|elasticloadbalancing:Describe|ssm:DescribeInstanceInformation$|ssm:GetCommandInvocation$|ssm:UpdateInstanceInformation$|ec2messages:|ssmmessages:(Create|Open)ControlChannel$|sts:GetWebIdentityToken$|cloudfront:(CreateInvalidation|GetInvalidation)$|kms:|ecr:GetAuthorizationToken$|ecs:(RegisterTaskDefinition|DescribeTaskDefinition|DeregisterTaskDefinition|ListTaskDefinitions|ListTasks)$|application-autoscaling:Describe|cloudwatch:(PutMetricData|GetMetricData)$)/;
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

describe('a function outside the bundle', () => {
  it('stops the synth', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Probe');
    expect(() => new CloudSeedFunction(stack, 'Scripts', { module: 'providers/node-backups/backup-scripts.ts', service: 'cloudseed-probe' })).toThrow(
      /functions\/providers\/node-backups\/backup-scripts\.ts is not in the function bundle/,
    );
  });
});

// ESM as esbuild writes it: `import{a as b}from"./chunk-X.mjs"` and `import"./chunk-Y.mjs"` load
// before the module runs; `import("./chunk-Z.mjs")` only when the code calls it.
const STATIC_IMPORT = /(?:^|[;}\s])(?:import|export)\s*(?:[\w$*{}\s,]*\bfrom\s*)?["'](\.\/[^"']+)["']/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.\/[^"']+)["']\s*\)/g;

/** The files of the bundle `entry` loads, transitively: before its handler runs (static imports), or at all (import() too). */
function loadedBy(bundle: string, entry: string, imports: readonly RegExp[]): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(bundle, file), 'utf8');
    for (const pattern of imports) for (const [, target] of code.matchAll(pattern)) pending.push(target!.slice(2));
  }
  return seen;
}

const sourcesRead = new Map<string, string[]>();

/** The source files a file of the bundle was built from, relative to the repository, by its source map. */
function sourcesOf(bundle: string, file: string): string[] {
  const path = join(bundle, `${file}.map`);
  let sources = sourcesRead.get(path);
  if (!sources) {
    const map = JSON.parse(readFileSync(path, 'utf8')) as { sources: string[] };
    sources = map.sources.map((source) => relative(REPO_ROOT, resolve(bundle, source)));
    sourcesRead.set(path, sources);
  }
  return sources;
}

/** What a function's variable will hold once CloudFormation fills it in: an ARN of the kind of resource it names, or the resource's logical id. */
function standIn(app: Synthesized, value: unknown): string {
  if (typeof value === 'string') return value;
  const id = referencedId(value) ?? '';
  const type = json(app.platformTemplate).Resources[id]?.Type;
  if (type === 'AWS::IAM::Role') return `arn:aws:iam::111122223333:role/${id}`;
  if (type === 'AWS::StepFunctions::StateMachine') return `arn:aws:states:eu-west-1:111122223333:stateMachine:${id}`;
  return flat(value);
}

// What functions/providers/index.ts loads with import(), one cloud at a time, and the SDKs only those bring.
const LAZY_PROVIDERS = {
  aws: 'functions/providers/aws/aws-provider.ts',
  local: 'functions/providers/local/local-provider.ts',
  gcp: 'functions/providers/gcp/gcp-provider.ts',
  azure: 'functions/providers/azure/azure-provider.ts',
} as const;
const PROVIDER_SDKS = [/(^|\/)node_modules\/@google-cloud\/compute\//, /(^|\/)node_modules\/@azure\//, /(^|\/)node_modules\/@aws-sdk\/client-ec2\//];

describe('the function bundle, as CDK bundles it', () => {
  let bundled: Synthesized;
  let bundle: string;

  beforeAll(() => {
    bundled = synth({ bundle: true });
    const keys = new Set(cloudSeedFunctions(bundled.platformTemplate).map(([, fn]) => JSON.stringify(record(props(fn).Code).S3Key)));
    const [key] = keys;
    bundle = join(bundled.assembly.directory, `asset.${String(JSON.parse(key ?? '""')).replace(/\.zip$/, '')}`);
  }, 180_000);

  afterAll(() => {
    if (bundled) rmSync(bundled.assembly.directory, { recursive: true, force: true });
  });

  it('is one asset that every platform function runs from', () => {
    const functions = cloudSeedFunctions(bundled.platformTemplate);
    expect(functions).toHaveLength(FUNCTION_MODULES.length);
    expect(new Set(functions.map(([, fn]) => JSON.stringify(props(fn).Code))).size).toBe(1);
    expect(existsSync(join(bundle, `${entryName(JOB_MODULES.healthCheck)}.mjs`))).toBe(true);
    const bundles = readdirSync(bundled.assembly.directory).filter(
      (name) => name.startsWith('asset.') && existsSync(join(bundled.assembly.directory, name, 'steps-render.mjs')),
    );
    expect(bundles).toEqual([relative(bundled.assembly.directory, bundle)]);
  });

  it('has every function’s handler file at its root, exporting `handler`, with its source map', () => {
    for (const [id, fn] of cloudSeedFunctions(bundled.platformTemplate)) {
      const file = `${String(props(fn).Handler).replace(/\.handler$/, '')}.mjs`;
      expect(existsSync(join(bundle, file)), `${id}: ${file}`).toBe(true);
      const code = readFileSync(join(bundle, file), 'utf8');
      expect(code.slice(0, 200), file).toContain('createRequire');
      expect(code, file).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
      expect(existsSync(join(bundle, `${file}.map`)), file).toBe(true);
    }
    expect(readdirSync(bundle).filter((name) => !/\.mjs(\.map)?$/.test(name))).toEqual(['sh']);
  });

  it('carries the node scripts at its root, beside the chunk that reads them', () => {
    const source = fileURLToPath(SCRIPT_FOLDER);
    const files = readdirSync(source).filter((name) => name.endsWith('.sh') || name.endsWith('.py'));
    expect(files).toEqual(expect.arrayContaining(['prelude-aws.sh', 'prelude-gcp.sh', 'prelude-azure.sh', 'collect-metrics.py']));
    for (const file of files) expect(readFileSync(join(bundle, 'sh', file), 'utf8'), file).toBe(readFileSync(join(source, file), 'utf8'));

    // scripts.ts reads every .sh file of the folder beside it when it loads: loading its chunk from elsewhere proves the folder is where it looks.
    const chunks = readdirSync(bundle).filter(
      (name) => name.endsWith('.mjs') && sourcesOf(bundle, name).includes('shared/src/targets/aws/scripts.ts'),
    );
    expect(chunks).toHaveLength(1);
    const program = `await import(${JSON.stringify(pathToFileURL(join(bundle, chunks[0]!)).href)});`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('loads a workflow step under Node from the bundle, with the environment its function has', () => {
    const [, render] = cloudSeedFunctions(bundled.platformTemplate).find(([, fn]) => props(fn).Handler === 'steps-render.handler')!;
    const environment = Object.fromEntries(Object.entries(environmentOf(render)).map(([key, value]) => [key, standIn(bundled, value)]));
    const program = `const { handler } = await import(${JSON.stringify(pathToFileURL(join(bundle, 'steps-render.mjs')).href)}); process.stdout.write(typeof handler);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      cwd: bundle,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...environment },
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('function');
  });

  it('loads each cloud’s provider and SDKs only when a step asks for them, not with the step', () => {
    const entries = [...Object.values(stepModules), JOB_MODULES.healthCheck].map((module) => `${entryName(module)}.mjs`);
    const sources = (files: Set<string>) => new Set([...files].flatMap((file) => sourcesOf(bundle, file)));
    const everything = sources(new Set(readdirSync(bundle).filter((name) => name.endsWith('.mjs'))));
    // AWS and the local cloud are loaded this way today; Google Cloud and Azure too once functions/providers/index.ts loads them.
    expect(everything).toContain(LAZY_PROVIDERS.aws);
    expect(everything).toContain(LAZY_PROVIDERS.local);
    const bundledProviders = Object.values(LAZY_PROVIDERS).filter((provider) => everything.has(provider));

    const reachingProviders = [];
    for (const entry of entries) {
      const atLoad = sources(loadedBy(bundle, entry, [STATIC_IMPORT]));
      for (const provider of bundledProviders) expect(atLoad, `${entry} loads ${provider} with itself`).not.toContain(provider);
      for (const sdk of PROVIDER_SDKS)
        expect(
          [...atLoad].filter((source) => sdk.test(source)),
          `${entry} loads ${String(sdk)} with itself`,
        ).toEqual([]);
      // A step that reaches the provider loader at load reaches each provider, behind import().
      if (!atLoad.has('functions/providers/index.ts')) continue;
      reachingProviders.push(entry);
      const atAll = sources(loadedBy(bundle, entry, [STATIC_IMPORT, DYNAMIC_IMPORT]));
      for (const provider of bundledProviders) expect(atAll, `${entry} cannot reach ${provider}`).toContain(provider);
    }
    expect(reachingProviders).toEqual(expect.arrayContaining(['steps-render.mjs', 'steps-launch-nodes.mjs', 'jobs-health-check.mjs']));
  });
});
