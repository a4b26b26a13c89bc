import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundledHandler, FunctionBundle } from './function-bundle.ts';
import { REPO_ROOT } from './names.ts';
import { acknowledge, XRAY_REASON } from './nag.ts';

// The one place every CloudSeed Lambda function gets its defaults: Node 24 on arm64, X-Ray, a log
// group of its own with a retention, Powertools' service name, source-mapped stack traces, and its
// entry in the stack's one function bundle (function-bundle.ts). Its role starts empty but for
// writing to its own log group; each construct that hands the function a resource grants what it needs.

/** What a grant helper needs from a function: to set the variable that names the resource, and a principal. */
export interface ConfigurableFunction extends iam.IGrantable {
  addEnvironment(key: string, value: string): void;
}

export interface CloudSeedFunctionProps {
  /** Handler module relative to `functions/`, exporting `handler`; one of function-bundle.ts FUNCTION_MODULES. */
  readonly module: string;
  /** Powertools' service name, also the logs' `service` field. */
  readonly service: string;
  readonly description?: string;
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** @default 512 MiB: the functions carry the AWS SDK, and CPU scales with memory. */
  readonly memorySize?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

export class CloudSeedFunction extends Construct implements ConfigurableFunction {
  readonly lambda: lambda.Function;
  /** The handler module the function runs (absolute). */
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
    const handler = bundledHandler(props.module);
    this.lambda = new lambda.Function(this, 'Function', {
      code: FunctionBundle.of(this).code,
      handler,
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
