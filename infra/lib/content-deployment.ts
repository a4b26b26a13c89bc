import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

// Files the platform puts into its own buckets at deploy time (the site, the customer template)
// through aws-cdk-lib's BucketDeployment, with a role and a log group of our own rather than the
// default role's AWSLambdaBasicExecutionRole. BucketDeployment shares one handler per stack and
// memory size: each deployment gets its own size, so its handler runs with its own role.

export interface ContentDeploymentProps {
  readonly bucket: s3.Bucket;
  readonly sources: s3deploy.ISource[];
  /** What the files are, for the findings' reasons: "the site", "the customer template". */
  readonly what: string;
  /** The handler's memory, which also keys the shared handler: a size no other deployment in the stack uses. */
  readonly memoryLimit: number;
  readonly distribution?: cloudfront.IDistribution;
  readonly contentType?: string;
  readonly retainOnDelete?: boolean;
}

export class ContentDeployment extends Construct {
  readonly deployment: s3deploy.BucketDeployment;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ContentDeploymentProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(this.role);
    this.deployment = new s3deploy.BucketDeployment(this, 'Deployment', {
      destinationBucket: props.bucket,
      sources: props.sources,
      memoryLimit: props.memoryLimit,
      role: this.role,
      logGroup,
      ...(props.distribution ? { distribution: props.distribution, distributionPaths: ['/*'] } : {}),
      ...(props.contentType ? { contentType: props.contentType } : {}),
      ...(props.retainOnDelete !== undefined ? { retainOnDelete: props.retainOnDelete } : {}),
    });
    acknowledgeHandler(this, props);
  }
}

/** What aws-cdk-lib's BucketDeployment grants its handler, which we cannot narrow: copy the staged files over the bucket's objects (and invalidate the cache). */
function acknowledgeHandler(deployment: ContentDeployment, props: ContentDeploymentProps): void {
  const stack = Stack.of(deployment);
  const bucketId = stack.getLogicalId(props.bucket.node.defaultChild as CfnElement);
  const why = `aws-cdk-lib's BucketDeployment handler syncs ${props.what} into its bucket`;
  const findings: Record<string, string> = {
    'Action::s3:GetObject*': `${why}: it reads the staged assets and the bucket's current objects.`,
    'Action::s3:GetBucket*': `${why}: it reads the buckets' settings.`,
    'Action::s3:List*': `${why}: it lists the objects to prune.`,
    'Action::s3:DeleteObject*': `${why}: it prunes objects that are no longer in the source.`,
    'Action::s3:Abort*': `${why}: multipart uploads of large files.`,
    'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*': `${why}: the staged assets are in the CDK bootstrap bucket.`,
    [`Resource::<${bucketId}.Arn>/*`]: `${why}: every object of that bucket (and only that bucket).`,
  };
  if (props.distribution) findings['Resource::*'] = `${why}: cloudfront:CreateInvalidation and GetInvalidation, so the new files are served at once.`;
  for (const [finding, reason] of Object.entries(findings)) acknowledge(deployment.role, `AwsSolutions-IAM5[${finding}]`, reason);
  const handlers = stack.node.children.filter((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  for (const handler of handlers) {
    acknowledge(
      handler,
      'AwsSolutions-L1',
      "The BucketDeployment handler's Python runtime is chosen by aws-cdk-lib and moves with it; it runs only during deployments.",
    );
  }
}
