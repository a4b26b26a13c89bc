import { cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Stack } from 'aws-cdk-lib';
import type { BundlingOptions } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { routes } from '@cloudseed/functions/routes';
import { stepModules } from '@cloudseed/functions/steps/index';
import { SCRIPT_FOLDER } from '@cloudseed/shared/targets/aws/scripts';
import { REPO_ROOT } from './names.ts';

// Every CloudSeed Lambda function runs from one code-split esbuild bundle, one asset per stack:
// each handler module is an entry at the bundle's root, and what entries share lives in chunks
// beside them. Providers are loaded with import() (functions/providers/index.ts), so each cloud's
// SDKs sit in chunks of their own that a function reads only when a plan targets that cloud,
// instead of being inlined into every function's bundle. Built in-process, never in Docker.

/** Functions that run on a schedule rather than behind a route or a workflow state. */
export const JOB_MODULES = { healthCheck: 'jobs/health-check.ts', alerts: 'jobs/alerts.ts' } as const;

/** Every handler module a CloudSeed function runs, relative to `functions/`: the API's routes, the workflow steps, the jobs. */
export const FUNCTION_MODULES: readonly string[] = [
  ...new Set([...routes.map((route) => route.module), ...Object.values(stepModules), ...Object.values(JOB_MODULES)]),
];

/** `steps/render.ts` → `steps-render`: the entry's file at the bundle's root, and so its handler's name. */
export function entryName(module: string): string {
  return module.replace(/\.ts$/, '').replaceAll('/', '-');
}

const ENTRY_POINTS: Readonly<Record<string, string>> = Object.fromEntries(
  FUNCTION_MODULES.map((module) => [entryName(module), join(REPO_ROOT, 'functions', module)]),
);
if (Object.keys(ENTRY_POINTS).length !== FUNCTION_MODULES.length) throw new Error('two function modules map to the same bundle entry name');

// ESM bundles still meet CommonJS dependencies that call require() (parts of the AWS SDK do).
const REQUIRE_SHIM =
  "import { createRequire as __cloudseedCreateRequire } from 'node:module'; const require = __cloudseedCreateRequire(import.meta.url);";

/** esbuild's options for the bundle, written to `outdir`. */
function bundleOptions(outdir: string): BuildOptions {
  return {
    entryPoints: ENTRY_POINTS,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_SHIM },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    outExtension: { '.js': '.mjs' },
    // Flat: the shared code reads its node scripts relative to the chunk it lands in, which must sit beside `sh`.
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    logLevel: 'warning',
  };
}

// The node scripts are .sh files that scripts.ts reads, when it loads, from the folder beside it; in
// the bundle "beside it" is beside whichever chunk scripts.ts lands in, at the root, so the folder
// is copied there under the same name. Read from disk rather than inlined by an esbuild loader
// because Node runs the same modules unbundled (the local cloud, the tests), and Node cannot import
// a .sh file. The metrics collector (collect-metrics.py), which configure.sh installs, travels with them.
const SCRIPT_SOURCE = fileURLToPath(SCRIPT_FOLDER);

/** Builds the bundle into `outdir`: every function's entry, their chunks, source maps, and the node scripts. */
export function buildFunctionBundle(outdir: string): void {
  buildSync(bundleOptions(outdir));
  cpSync(SCRIPT_SOURCE, join(outdir, basename(SCRIPT_SOURCE)), { recursive: true });
}

const BUNDLING: BundlingOptions = {
  // Never used: local bundling always succeeds or throws, and the asset needs some image to name.
  image: lambda.Runtime.NODEJS_24_X.bundlingImage,
  local: {
    tryBundle(outputDir) {
      buildFunctionBundle(outputDir);
      return true;
    },
  },
};

/**
 * The stack's one function bundle. Its hash is the output's, so a change anywhere in what the
 * functions import redeploys them and nothing else does; a synth that skips bundling
 * (`aws:cdk:bundling-stacks`) builds nothing and reads no source.
 */
export class FunctionBundle extends Construct {
  /** The stack's bundle, made on first use. */
  static of(scope: Construct): FunctionBundle {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(FunctionBundle.ID);
    if (existing instanceof FunctionBundle) return existing;
    return new FunctionBundle(stack, FunctionBundle.ID);
  }

  private static readonly ID = 'FunctionBundle';

  readonly code: lambda.AssetCode;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.code = lambda.Code.fromAsset(join(REPO_ROOT, 'functions'), { assetHashType: AssetHashType.OUTPUT, bundling: BUNDLING });
    // Bound here first so the asset is this construct's; every function binds the same one after.
    this.code.bind(this);
  }
}

/** The handler of the function that runs `module`; a module outside the bundle stops the synth. */
export function bundledHandler(module: string): string {
  if (!FUNCTION_MODULES.includes(module))
    throw new Error(
      `functions/${module} is not in the function bundle: infra/lib/function-bundle.ts FUNCTION_MODULES lists the routes, the workflow steps and JOB_MODULES`,
    );
  return `${entryName(module)}.handler`;
}
