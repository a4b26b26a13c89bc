import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';
import { BACKUP_BUCKET_PREFIX } from './names.ts';

// Where backups go and what runs them on schedule: the bucket, the EventBridge Scheduler group
// the per-deployment schedules live in, and the role Scheduler assumes to start the backup
// workflow (state-machines/backup.asl.json, which the Workflows construct hands to
// `allowSchedulesToStart`; until then the role may do nothing at all).

export interface BackupsProps {
  readonly retain: boolean;
  readonly accessLogs: s3.IBucket;
}

export const BACKUP_SCHEDULE_GROUP = 'cloudseed-backups';

export class Backups extends Construct {
  readonly bucket: s3.Bucket;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    const removalPolicy = props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const { account, partition, region } = Stack.of(this);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // A known name: the customer template names it in the policies of the roles that read and write backups.
      bucketName: `${BACKUP_BUCKET_PREFIX}-${account}-${region}`,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'backups-bucket/',
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy,
    });

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

  /** Names the bucket to a function that only records where backups go; it gets no access to the objects. */
  nameBucketTo(fn: ConfigurableFunction): void {
    fn.addEnvironment('BACKUP_BUCKET', this.bucket.bucketName);
  }

  /** Names the bucket to a function that reads backups (presigned downloads). */
  grantBucketReadTo(fn: ConfigurableFunction & Construct): void {
    this.#grantObjects(fn, ['s3:GetObject']);
  }

  /** Names the bucket to a function that writes, reads and expires backups. */
  grantBucketReadWriteTo(fn: ConfigurableFunction & Construct): void {
    this.#grantObjects(fn, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
  }

  // Exact actions rather than Bucket.grantRead/grantReadWrite, whose s3:GetObject*, s3:List* and
  // s3:DeleteObject* reach further (ACLs, tags, versions) than a backup needs.
  #grantObjects(fn: ConfigurableFunction & Construct, actions: string[]): void {
    fn.addEnvironment('BACKUP_BUCKET', this.bucket.bucketName);
    iam.Grant.addToPrincipal({ grantee: fn, actions, resourceArns: [this.bucket.arnForObjects('*')] });
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    acknowledge(fn, `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`, 'Backup objects are keyed by plan, component and backup id at run time; the grant covers the backup bucket only.');
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
