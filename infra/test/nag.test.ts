import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { build } from 'esbuild';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../lib/app.ts';
import { CloudSeedFunction, REQUIRE_SHIM } from '../lib/function.ts';
import type { Synthesized } from './synth.ts';
import { synth, validationReport } from './synth.ts';

// The whole app under cdk-nag's AWS Solutions pack, as `npm run synth` checks it. cdk-nag 3 reports
// through CDK's policy validation (validation-report.json in the assembly), not through
// annotations; both are checked. The rules read the templates, not the bundles, so CDK bundles no
// function here: every function's module is bundled below in one esbuild build with the options
// CDK bundles it with, and functions.test.ts runs one function through CDK's own bundling.

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

describe('the function bundles', () => {
  it('build for every function: ESM for Node 24, with the require shim and a source map', async () => {
    const entries = app.platform.node.findAll().flatMap((construct) => (construct instanceof CloudSeedFunction ? [construct.entry] : []));
    expect(entries.length).toBeGreaterThan(20);
    const outdir = mkdtempSync(join(tmpdir(), 'cloudseed-bundles-'));
    onTestFinished(() => rmSync(outdir, { recursive: true, force: true }));

    const result = await build({
      entryPoints: [...new Set(entries)],
      outdir,
      outbase: join(import.meta.dirname, '..', '..'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: { js: REQUIRE_SHIM },
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });

    expect(result.errors).toEqual([]);
    for (const entry of entries) {
      const bundle = join(outdir, relative(join(import.meta.dirname, '..', '..'), entry).replace(/\.ts$/, '.mjs'));
      expect(existsSync(bundle), entry).toBe(true);
      expect(existsSync(`${bundle}.map`), entry).toBe(true);
      expect(readFileSync(bundle, 'utf8').slice(0, 200), entry).toContain('createRequire');
    }
  }, 120_000);
});
