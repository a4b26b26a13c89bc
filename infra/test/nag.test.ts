import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../lib/app.ts';
import { cloudSeedFunctions, props, record } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth, validationReport } from './synth.ts';

// The whole app as `npm run synth` builds it: real esbuild bundles and cdk-nag's AWS Solutions
// pack. cdk-nag 3 reports through CDK's policy validation (validation-report.json in the
// assembly), not through annotations; both are checked.

let app: Synthesized;

beforeAll(() => {
  app = synth({ bundle: true });
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

describe('the function bundles', () => {
  it('are ESM built here with esbuild, with the require shim and a source map', () => {
    const functions = cloudSeedFunctions(app.platformTemplate);
    expect(functions.length).toBeGreaterThan(0);
    for (const [id, fn] of functions) {
      const key = String(record(props(fn).Code).S3Key);
      const directory = join(app.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
      const bundle = join(directory, 'index.mjs');
      expect(existsSync(bundle), id).toBe(true);
      expect(existsSync(`${bundle}.map`), id).toBe(true);
      expect(readFileSync(bundle, 'utf8').slice(0, 200), id).toContain('createRequire');
    }
  });
});
