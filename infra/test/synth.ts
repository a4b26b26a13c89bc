import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { createApp } from '../lib/app.ts';
import type { CloudSeedApp } from '../lib/app.ts';

// Synthesizes the real app for the infra tests. Building the function bundle (one esbuild build of
// every function) is most of a synth's time, so the construct tests skip it through CDK's own switch
// (`aws:cdk:bundling-stacks`: no stack bundles, assets are placeholders) and one test,
// functions.test.ts, synthesizes with the real bundle.

export interface SynthOptions {
  readonly bundle?: boolean;
  readonly stage?: string;
  readonly webBuildDir?: string;
  /** More context values, as `-c key=value` gives them. */
  readonly context?: Record<string, string>;
}

export interface Synthesized extends CloudSeedApp {
  readonly assembly: CloudAssembly;
  readonly platformTemplate: Template;
  readonly customerTemplate: Template;
}

export function synth(options: SynthOptions = {}): Synthesized {
  const cloudseed = createApp({
    context: {
      // What the CLI sets: construct paths in the template's metadata, which the tests find resources by.
      'aws:cdk:enable-path-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...(options.stage ? { stage: options.stage } : {}),
      ...options.context,
    },
    ...(options.webBuildDir ? { webBuildDir: options.webBuildDir } : {}),
  });
  const assembly = cloudseed.app.synth();
  return {
    ...cloudseed,
    assembly,
    platformTemplate: Template.fromStack(cloudseed.platform),
    customerTemplate: Template.fromStack(cloudseed.customerAccount),
  };
}

/** The cdk-nag and CloudFormation validation report CDK writes into the assembly, if any plugin had something to say. */
export interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity?: string }[];
  }[];
}

export function validationReport(assembly: CloudAssembly): ValidationReport | undefined {
  const file = join(assembly.directory, 'validation-report.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ValidationReport) : undefined;
}

// ---- Reading templates without `any` ----

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Conditions?: Record<string, unknown>;
  readonly Parameters?: Record<string, Record<string, unknown>>;
  readonly Outputs?: Record<string, Record<string, unknown>>;
  readonly Rules?: Record<string, unknown>;
}

export function json(template: Template): CfnTemplate {
  return template.toJSON() as CfnTemplate;
}

export function resourcesOfType(template: Template, type: string): [string, CfnResource][] {
  return Object.entries(json(template).Resources).filter(([, resource]) => resource.Type === type);
}

export function pathOf(resource: CfnResource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : '';
}

export function props(resource: CfnResource): Record<string, unknown> {
  return resource.Properties ?? {};
}

export function record(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

export function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export interface Statement {
  readonly Effect: string;
  readonly Action: unknown;
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Sid?: string;
}

/** Every statement of every policy document in a template: identity policies, role policies, trust and resource policies. */
export function allStatements(template: Template): { readonly owner: string; readonly statement: Statement }[] {
  const found: { owner: string; statement: Statement }[] = [];
  const visit = (owner: string, value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(owner, item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const object = value as Record<string, unknown>;
    if (Array.isArray(object.Statement)) {
      for (const statement of object.Statement) found.push({ owner, statement: statement as Statement });
      return;
    }
    for (const child of Object.values(object)) visit(owner, child);
  };
  for (const [id, resource] of Object.entries(json(template).Resources)) visit(id, resource.Properties);
  return found;
}

export function actionsOf(statement: Statement): string[] {
  return list(statement.Action).map(String);
}

/** The logical id of `{ "Fn::GetAtt": [id, "Arn"] }` or `{ "Ref": id }`. */
export function referencedId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const object = value as Record<string, unknown>;
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return typeof object.Ref === 'string' ? object.Ref : undefined;
}

/** The CloudSeed Lambda functions (not CDK's own BucketDeployment handler). */
export function cloudSeedFunctions(template: Template): [string, CfnResource][] {
  return resourcesOfType(template, 'AWS::Lambda::Function').filter(([, resource]) => !pathOf(resource).includes('Custom::CDKBucketDeployment'));
}

export function environmentOf(resource: CfnResource): Record<string, unknown> {
  const environment = props(resource).Environment;
  return environment === undefined ? {} : record(record(environment).Variables);
}

/** The logical id of the role the platform federates to Google Cloud and Azure with (`<stack>-CloudFederation`). */
export function cloudFederationRoleId(template: Template): string {
  const [found, ...others] = resourcesOfType(template, 'AWS::IAM::Role').filter(([, role]) =>
    String(props(role).RoleName).endsWith('-CloudFederation'),
  );
  if (!found || others.length > 0) throw new Error('expected one cloud federation role');
  return found[0];
}

/** The statements of the policies attached to the role a function runs with. */
export function roleStatements(template: Template, functionId: string): Statement[] {
  const fn = json(template).Resources[functionId];
  if (!fn) throw new Error(`no resource ${functionId}`);
  const roleId = referencedId(props(fn).Role);
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => list(props(policy).Roles).some((role) => referencedId(role) === roleId))
    .flatMap(([, policy]) => list(record(props(policy).PolicyDocument).Statement) as Statement[]);
}

/** A CloudFormation value with intrinsics flattened to text, for matching ARNs: `{ Ref: X }` → `${X}`, `Fn::GetAtt [X, Arn]` → `${X.Arn}`. */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const object = value as Record<string, unknown>;
  const join = object['Fn::Join'];
  if (Array.isArray(join)) return list(join[1]).map(flat).join(String(join[0]));
  if (typeof object.Ref === 'string') return `\${${object.Ref}}`;
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.map(String).join('.')}}`;
  return JSON.stringify(value);
}
