import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SCRIPT_FOLDER, shellQuote } from '@cloudseed/shared/targets/aws/scripts';
import { REPO_ROOT } from './names.ts';
import { acknowledge, XRAY_REASON } from './nag.ts';

// The one place every CloudSeed Lambda function gets its defaults: Node 24 on arm64, X-Ray, a log
// group of its own with a retention, Powertools' service name, source-mapped stack traces, and an
// esbuild bundle made here (never in Docker) as ESM. Its role starts empty but for writing to its
// own log group; each construct that hands the function a resource grants what it needs.

/** What a grant helper needs from a function: to set the variable that names the resource, and a principal. */
export interface ConfigurableFunction extends iam.IGrantable {
  addEnvironment(key: string, value: string): void;
}

export interface CloudSeedFunctionProps {
  /** Handler module relative to `functions/`, exporting `handler`. */
  readonly module: string;
  /** Powertools' service name, also the logs' `service` field. */
  readonly service: string;
  readonly description?: string;
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** @default 512 MiB: the bundles carry the AWS SDK, and CPU scales with memory. */
  readonly memorySize?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

// The node scripts are .sh files that scripts.ts reads, when it loads, from the folder beside it; in
// a bundle "beside it" is beside index.mjs, so the folder is copied there under the same name. Every
// function gets it: a handler that imports the shared package's index loads scripts.ts too. Read from
// disk rather than inlined by an esbuild loader because Node runs the same modules unbundled (the
// local cloud, the tests), and Node cannot import a .sh file.
const SCRIPT_SOURCE = relative(REPO_ROOT, fileURLToPath(SCRIPT_FOLDER));
const copyNodeScripts = (inputDir: string, outputDir: string): string[] => [
  `cp -R ${shellQuote(join(inputDir, SCRIPT_SOURCE))} ${shellQuote(join(outputDir, basename(SCRIPT_SOURCE)))}`,
];

// ESM bundles still meet CommonJS dependencies that call require() (parts of the AWS SDK do).
export const REQUIRE_SHIM =
  "import { createRequire as __cloudseedCreateRequire } from 'node:module'; const require = __cloudseedCreateRequire(import.meta.url);";

export class CloudSeedFunction extends Construct implements ConfigurableFunction {
  readonly lambda: NodejsFunction;
  /** The handler module the function is bundled from (absolute). */
  readonly entry: string;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CloudSeedFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    // A role of our own instead of the default one, which would bring the AWSLambdaBasicExecutionRole
    // managed policy (write to any log group) for what this one log group grant does.
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    this.entry = join(REPO_ROOT, 'functions', props.module);
    this.lambda = new NodejsFunction(this, 'Function', {
      entry: this.entry,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      ...(props.description ? { description: props.description } : {}),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        CLOUDSEED_MODE: 'aws',
        POWERTOOLS_SERVICE_NAME: props.service,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Our pinned SDK versions, not whichever the runtime happens to ship.
        bundleAwsSDK: true,
        commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: copyNodeScripts },
      },
    });
    acknowledge(this, 'AwsSolutions-IAM5[Resource::*]', XRAY_REASON);
  }

  get functionArn(): string {
    return this.lambda.functionArn;
  }

  get grantPrincipal(): iam.IPrincipal {
    return this.lambda.grantPrincipal;
  }

  addEnvironment(key: string, value: string): void {
    this.lambda.addEnvironment(key, value);
  }
}
