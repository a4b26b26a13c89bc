import { join } from 'node:path';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../lib/app.ts';
import { FUNCTION_MODULES } from '../lib/function-bundle.ts';
import { CloudSeedFunction } from '../lib/function.ts';
import { REPO_ROOT } from '../lib/names.ts';
import type { Synthesized } from './synth.ts';
import { synth, validationReport } from './synth.ts';

// The whole app under cdk-nag's AWS Solutions pack, as `npm run synth` checks it. cdk-nag 3 reports
// through CDK's policy validation (validation-report.json in the assembly), not through
// annotations; both are checked. The rules read the templates, not the bundle, so CDK bundles
// nothing here; functions.test.ts builds the one function bundle through CDK and runs it.

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 180_000);

describe('the whole app under cdk-nag', () => {
  it('has no unacknowledged finding, error or warning', () => {
    const report = validationReport(app.assembly);
    const findings = (report?.pluginReports ?? []).flatMap((plugin) =>
      plugin.violations.map((violation) => `${plugin.pluginName}: ${violation.ruleName} (${violation.severity ?? '?'})`),
    );
    expect(findings).toEqual([]);
  });

  it('annotates no stack with an AwsSolutions error or warning', () => {
    for (const stack of [app.platform, app.customerAccount]) {
      const messages = app.assembly.getStackArtifact(stack.artifactId).messages;
      const nag = messages.filter(
        (message) => message.level !== SynthesisMessageLevel.INFO && JSON.stringify(message.entry.data).includes('AwsSolutions-'),
      );
      expect(nag, stack.stackName).toEqual([]);
    }
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    const canary = createApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    new s3.Bucket(canary.platform, 'PlainBucket');
    expect(() => canary.app.synth()).toThrow(/AwsSolutions-S10/);
  });
});

describe('the function bundle', () => {
  it('has an entry for the module of every function in the app, and none that no function runs', () => {
    const entries = app.platform.node.findAll().flatMap((construct) => (construct instanceof CloudSeedFunction ? [construct.entry] : []));
    expect(entries.length).toBeGreaterThan(20);
    expect([...new Set(entries)].sort()).toEqual(FUNCTION_MODULES.map((module) => join(REPO_ROOT, 'functions', module)).sort());
    expect(app.customerAccount.node.findAll().filter((construct) => construct instanceof CloudSeedFunction)).toEqual([]);
  });
});
