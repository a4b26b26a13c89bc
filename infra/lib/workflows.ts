import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { stepModules } from '@cloudseed/functions/steps/index';
import type { StepSubstitution } from '@cloudseed/functions/steps/index';
import type { Backups } from './backups.ts';
import type { CloudFederation } from './cloud-federation.ts';
import type { Data } from './data.ts';
import { grantCustomerAccountAccess } from './customer-access.ts';
import { CloudSeedFunction } from './function.ts';
import type { ConfigurableFunction } from './function.ts';
import { acknowledge, XRAY_REASON } from './nag.ts';
import { REPO_ROOT } from './names.ts';

// The workflows: the ASL files of state-machines/ as they are, each `${Name}` filled with the ARN
// of the Lambda function that runs functions/steps/index.ts's module for it. Every step works on
// the tables and the customer's account (where the backups are too); a few more manage backup schedules.

/** The state machines, the file each runs and the variable that carries its ARN to the functions (functions/lib/workflows.ts). */
export const WORKFLOWS = {
  deploy: { id: 'Deploy', file: 'deploy.asl.json', env: 'DEPLOY_STATE_MACHINE_ARN' },
  teardown: { id: 'Teardown', file: 'teardown.asl.json', env: 'TEARDOWN_STATE_MACHINE_ARN' },
  backup: { id: 'Backup', file: 'backup.asl.json', env: 'BACKUP_STATE_MACHINE_ARN' },
  restore: { id: 'Restore', file: 'restore.asl.json', env: 'RESTORE_STATE_MACHINE_ARN' },
  stop: { id: 'Stop', file: 'stop.asl.json', env: 'STOP_STATE_MACHINE_ARN' },
} as const;

export type WorkflowName = keyof typeof WORKFLOWS;
export const WORKFLOW_NAMES = Object.keys(WORKFLOWS) as WorkflowName[];

export function workflowFile(name: WorkflowName): string {
  return join(REPO_ROOT, 'state-machines', WORKFLOWS[name].file);
}

interface StepAccess {
  /** @default 1 minute */
  readonly timeout?: Duration;
  /** Creates, updates or deletes the deployment's backup schedules (functions/lib/schedules.ts). */
  readonly schedules?: boolean;
  /** Starts the backup workflow (functions/lib/backup-workflow.ts). */
  readonly startsBackup?: boolean;
}

const STEP_ACCESS: Partial<Record<StepSubstitution, StepAccess>> = {
  // Terminate, wait until the instances are gone, then the security group: about 7 minutes.
  DestroyFunctionArn: { timeout: Duration.minutes(10), schedules: true },
  // A Run Command polled for up to 60 s.
  VerifyFunctionArn: { timeout: Duration.minutes(2) },
  CompensateFunctionArn: { timeout: Duration.minutes(10), schedules: true },
  // An in-place resize stops, modifies and starts each node in turn (replicas first): minutes per node.
  LaunchNodesFunctionArn: { timeout: Duration.minutes(15) },
  RegisterMonitoringFunctionArn: { schedules: true },
  // The backup (pgBackRest or pg_dump), its validation and pg_restore run on the node through Run Command and are waited for.
  DumpBackupFunctionArn: { timeout: Duration.minutes(15) },
  ValidateBackupFunctionArn: { timeout: Duration.minutes(15) },
  RestoreBackupFunctionArn: { timeout: Duration.minutes(15) },
  // pgBackRest's restore of the primary and the clones of the replicas, waited for the same way.
  RestoreToPointFunctionArn: { timeout: Duration.minutes(15) },
  RebuildReplicasFunctionArn: { timeout: Duration.minutes(15) },
  // The full backup after a restore, on the new timeline.
  StartFullBackupFunctionArn: { startsBackup: true },
};

/** The `${Name}` placeholders of an ASL file, in order of first use. */
export function placeholdersOf(aslFile: string): string[] {
  return [...new Set([...readFileSync(aslFile, 'utf8').matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1]!))];
}

function isStep(name: string): name is StepSubstitution {
  return Object.hasOwn(stepModules, name);
}

export interface WorkflowsProps {
  readonly data: Data;
  readonly backups: Backups;
  readonly federation: CloudFederation;
  readonly removalPolicy: RemovalPolicy;
}

export class Workflows extends Construct {
  readonly steps: ReadonlyMap<StepSubstitution, CloudSeedFunction>;
  readonly machines: Readonly<Record<WorkflowName, sfn.StateMachine>>;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    const steps = new Map<StepSubstitution, CloudSeedFunction>();
    const stepsScope = new Construct(this, 'Steps');
    for (const [name, module] of Object.entries(stepModules) as [StepSubstitution, string][]) {
      const access = STEP_ACCESS[name] ?? {};
      const fn = new CloudSeedFunction(stepsScope, name.replace(/FunctionArn$/, ''), {
        module,
        service: 'cloudseed-steps',
        description: `CloudSeed workflow step ${module}`,
        timeout: access.timeout ?? Duration.minutes(1),
        removalPolicy: props.removalPolicy,
      });
      props.data.grantReadWriteTo(fn);
      grantCustomerAccountAccess(fn, props.federation);
      steps.set(name, fn);
    }
    this.steps = steps;

    const machines = Object.fromEntries(WORKFLOW_NAMES.map((name) => [name, this.#stateMachine(name, props.removalPolicy)])) as Record<
      WorkflowName,
      sfn.StateMachine
    >;
    this.machines = machines;

    props.backups.allowSchedulesToStart(machines.backup);
    for (const [name, access] of Object.entries(STEP_ACCESS) as [StepSubstitution, StepAccess][]) {
      const fn = this.#step(name);
      if (access.schedules) props.backups.grantScheduleManagementTo(fn);
      // Only the backup workflow's ARN: a step's own workflow names the step, so naming that one back would be a cycle.
      if (access.schedules || access.startsBackup) fn.addEnvironment(WORKFLOWS.backup.env, machines.backup.stateMachineArn);
      if (access.startsBackup) machines.backup.grantStartExecution(fn);
    }
  }

  get deploy(): sfn.StateMachine {
    return this.machines.deploy;
  }

  get teardown(): sfn.StateMachine {
    return this.machines.teardown;
  }

  /** Lets a function start executions of the named workflows; it gets every workflow's ARN, as functions/lib/workflows.ts reads them all at load. */
  grantStartTo(fn: ConfigurableFunction, ...names: WorkflowName[]): void {
    this.#nameMachines(fn);
    for (const name of names) this.machines[name].grantStartExecution(fn);
  }

  /** Lets a function read executions' status and history (the deployment's steps timeline). */
  grantObserveTo(fn: ConfigurableFunction & Construct): void {
    this.#nameMachines(fn);
    const { partition, region, account } = Stack.of(this);
    for (const name of WORKFLOW_NAMES) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resourceArns: [`arn:${partition}:states:${region}:${account}:execution:${this.#machineName(name)}:*`],
      });
      acknowledge(
        fn,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.#machineName(name)}:*]`,
        'Executions are named by deployment at run time; the grant covers the executions of this one state machine, read-only.',
      );
    }
  }

  #nameMachines(fn: ConfigurableFunction): void {
    for (const name of WORKFLOW_NAMES) fn.addEnvironment(WORKFLOWS[name].env, this.machines[name].stateMachineArn);
  }

  #stateMachine(name: WorkflowName, removalPolicy: RemovalPolicy): sfn.StateMachine {
    const { id } = WORKFLOWS[name];
    const file = workflowFile(name);
    const placeholders = placeholdersOf(file);
    const unknown = placeholders.filter((placeholder) => !isStep(placeholder));
    if (unknown.length > 0)
      throw new Error(
        `${file} uses ${unknown.map((placeholder) => `\${${placeholder}}`).join(', ')}, which functions/steps/index.ts does not define`,
      );
    const used = placeholders.filter(isStep).map((placeholder) => [placeholder, this.#step(placeholder)] as const);

    const machine = new sfn.StateMachine(this, id, {
      stateMachineName: this.#machineName(name),
      definitionBody: sfn.DefinitionBody.fromFile(file),
      definitionSubstitutions: Object.fromEntries(used.map(([placeholder, fn]) => [placeholder, fn.functionArn])),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy }),
        level: sfn.LogLevel.ALL,
        // Step inputs and outputs carry plans and connection details: keep them out of the logs.
        includeExecutionData: false,
      },
    });
    // Exactly the functions this definition names, by the unqualified ARNs its Task states use.
    machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: used.map(([, fn]) => fn.functionArn) }));
    acknowledge(
      machine,
      'AwsSolutions-IAM5[Resource::*]',
      `${XRAY_REASON} The CloudWatch Logs delivery actions Step Functions needs for its logging (logs:CreateLogDelivery and the rest) likewise accept only "*".`,
    );
    return machine;
  }

  /** `CloudSeedPlatform-Deploy`: a readable name, unique per stack, that IAM grants on its executions can spell out. */
  #machineName(name: WorkflowName): string {
    return `${Stack.of(this).stackName}-${WORKFLOWS[name].id}`;
  }

  #step(name: StepSubstitution): CloudSeedFunction {
    const fn = this.steps.get(name);
    if (!fn) throw new Error(`no function for ${name}`);
    return fn;
  }
}
