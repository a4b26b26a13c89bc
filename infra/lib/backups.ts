import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';

// What runs backups on schedule: the EventBridge Scheduler group the per-deployment schedules live
// in, and the role Scheduler assumes to start the backup workflow (state-machines/backup.asl.json,
// which the Workflows construct hands to `allowSchedulesToStart`; until then the role may do
// nothing at all). The backups themselves are not here: they stay in each customer's own account,
// in the bucket the customer template creates (customer-account-stack.ts), which the workflow
// steps reach with the customer's role.

export interface BackupsProps {
  readonly retain: boolean;
}

export const BACKUP_SCHEDULE_GROUP = 'cloudseed-backups';

export class Backups extends Construct {
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    const removalPolicy = props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const { account, partition, region } = Stack.of(this);

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', { scheduleGroupName: BACKUP_SCHEDULE_GROUP, removalPolicy });

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to start CloudSeed backup executions',
      // Only this account's schedules in this group (confused-deputy protection).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:scheduler:${region}:${account}:schedule/${BACKUP_SCHEDULE_GROUP}/*` },
      }),
    });
  }

  /** Lets the schedules of this group start the backup workflow, and nothing else. */
  allowSchedulesToStart(backupWorkflow: sfn.IStateMachine): void {
    backupWorkflow.grantStartExecution(this.schedulerRole);
  }

  /** Lets a function create, change and delete the schedules of this group, running with the scheduler role. */
  grantScheduleManagementTo(fn: ConfigurableFunction & Construct): void {
    fn.addEnvironment('SCHEDULE_GROUP', this.scheduleGroup.scheduleGroupName);
    fn.addEnvironment('SCHEDULER_ROLE_ARN', this.schedulerRole.roleArn);
    this.scheduleGroup.grantWriteSchedules(fn);
    this.scheduleGroup.grantDeleteSchedules(fn);
    acknowledge(
      fn,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${BACKUP_SCHEDULE_GROUP}/*]`,
      `One schedule per deployed component, named at run time; the grant covers the ${BACKUP_SCHEDULE_GROUP} group only.`,
    );
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['iam:PassRole'],
      resourceArns: [this.schedulerRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
  }
}
