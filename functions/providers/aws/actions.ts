// Every IAM action AwsProvider needs. The customer's CloudSeed role must allow all of them but
// `sts:AssumeRole` (that one is the platform's, on the customer's role ARN); a test checks the
// role's policy against this list, and another that every command the provider sends is in it.
// Connecting an account (account-verifier.ts) and backup download links (backup-links.ts) use the
// same role with a subset of these.
//
// Some are not API calls of their own but are authorised as part of one:
//   ec2:CreateTags          TagSpecifications on RunInstances, CreateSecurityGroup and ingress rules
//   iam:PassRole            the plan's node role, on RunInstances and on AddRoleToInstanceProfile
//   ssm:GetParameters       EC2 resolving `resolve:ssm:` AMI parameters for RunInstances
//   ssm:AddTagsToResource   Tags on PutParameter
//   elasticloadbalancing:AddTags     Tags on CreateLoadBalancer, CreateTargetGroup and CreateListener
//   iam:CreateServiceLinkedRole      Elastic Load Balancing's own role, by the account's first load balancer
// and some are authorised under another name:
//   s3:GetObject            HeadObject too (does a backup object still exist), and the presigned
//                           download links
//   s3:DeleteObject         DeleteObjects (a backup's objects, in one request)
//   s3:ListBucket           HeadBucket when an account is connected; and what lets HeadObject answer
//                           404 for a backup that is gone (S3 answers 403 to callers that may not list)
//
// The S3 actions are on the backup bucket the customer template creates in the customer's own
// account (`cloudseed-backups-<account>-<region>`): ListBucket on the bucket, the others on its
// `plans/*` objects.

export const AWS_PROVIDER_ACTIONS = [
  'sts:AssumeRole',
  'ec2:DescribeVpcs',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:CreateSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:DeleteSecurityGroup',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceStatus',
  'ec2:RunInstances',
  'ec2:StopInstances',
  'ec2:StartInstances',
  'ec2:ModifyInstanceAttribute',
  'ec2:DescribeVolumes',
  'ec2:ModifyVolume',
  'ec2:DescribeVolumesModifications',
  'ec2:TerminateInstances',
  'ec2:CreateTags',
  'iam:PassRole',
  // The plan's node role and instance profile (node-role.ts): created at launch, removed with the plan.
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:DeleteRole',
  'iam:CreateInstanceProfile',
  'iam:GetInstanceProfile',
  'iam:AddRoleToInstanceProfile',
  'iam:RemoveRoleFromInstanceProfile',
  'iam:DeleteInstanceProfile',
  // A Patroni cluster's internal Network Load Balancer (endpoint.ts).
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:CreateLoadBalancer',
  'elasticloadbalancing:CreateTargetGroup',
  'elasticloadbalancing:ModifyTargetGroupAttributes',
  'elasticloadbalancing:CreateListener',
  'elasticloadbalancing:RegisterTargets',
  'elasticloadbalancing:DeregisterTargets',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:AddTags',
  'iam:CreateServiceLinkedRole',
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:DeleteParameters',
  'ssm:SendCommand',
  'ssm:GetCommandInvocation',
  'ssm:DescribeInstanceInformation',
  's3:GetObject',
  's3:DeleteObject',
  's3:ListBucket',
  // The metrics the nodes publish (CloudSeed/PostgreSQL): the Monitoring tab's charts and the alert rules.
  'cloudwatch:GetMetricData',
] as const;

export type AwsProviderAction = (typeof AWS_PROVIDER_ACTIONS)[number];

/** What the role in the customer's account must allow. */
export const CUSTOMER_ROLE_ACTIONS: readonly AwsProviderAction[] = AWS_PROVIDER_ACTIONS.filter((action) => !action.startsWith('sts:'));

// What a plan's node role must allow beyond the SSM agent's own (NODE_AGENT_ACTIONS in node-role.ts):
// the scripts Run Command starts on a node call AWS with the node's credentials, not the customer
// role's. A test checks every `aws` call in the rendered backup scripts against this list.
//   ssm:GetParameter          configure and verify read the passwords (SecureString) under /cloudseed/<plan>/
//   kms:Decrypt               ... decrypted by SSM with the account's aws/ssm key (kms:ViaService ssm.*,
//                             and the encryption context naming one of those parameters)
//   s3:PutObject              backup: the dump (a multipart upload of a stream), globals, manifest; and
//                             the validation's fingerprints of the restored copy
//   s3:AbortMultipartUpload   backup: `aws s3 cp -` aborts the upload of a dump that failed
//   s3:GetObject              validation and restore stream the dump back
//   s3:DeleteObject           a backup that fails removes what it stored
// The S3 actions belong on the `plans/<plan>/*` objects of the account's own backup bucket, and on
// `pgbackrest/<plan>/*`, the plan's pgBackRest repository, which pgBackRest (not the aws CLI these
// actions are checked against) also lists: node-role.ts grants s3:ListBucket under that prefix alone.
// Objects are written with SSE-S3 (`--sse AES256`, the bucket's default), so S3 needs no KMS permission; a
// bucket encrypted with a customer managed key would need kms:GenerateDataKey and kms:Decrypt on
// that key, granted in the key's policy to the nodes' role as well.
// and, on every node:
//   cloudwatch:PutMetricData  the metrics collector (sh/collect-metrics.py), only in CloudSeed's
//                             namespace (the cloudwatch:namespace condition; the action has no resource)
export const NODE_ROLE_ACTIONS = [
  'ssm:GetParameter',
  'kms:Decrypt',
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:GetObject',
  's3:DeleteObject',
  'cloudwatch:PutMetricData',
] as const;

export type NodeRoleAction = (typeof NODE_ROLE_ACTIONS)[number];

// Every IAM action AwsAppProvider needs (apps/): CodeBuild builds an app's image into ECR, ECS runs
// it on Fargate behind an Application Load Balancer, Application Auto Scaling sizes it, CloudWatch
// Logs keeps what its builds and tasks print. The customer's CloudSeed role must allow all of them
// but `sts:AssumeRole`, beside AWS_PROVIDER_ACTIONS (some are in both); the apps' tests check that
// every command AwsAppProvider sends is in this list.
//
// Authorised as part of another call, not sent:
//   ec2:CreateTags, elasticloadbalancing:AddTags, ssm:AddTagsToResource   tags on create, as above
//   ecr:TagResource, ecs:TagResource, logs:TagResource,
//   application-autoscaling:TagResource   tags on CreateRepository; CreateCluster, CreateService,
//                           RegisterTaskDefinition and RunTask; CreateLogGroup; RegisterScalableTarget
//   iam:PassRole            the customer template's task execution role (RegisterTaskDefinition,
//                           RunTask, CreateService) and build role (CreateProject, UpdateProject)
//   iam:CreateServiceLinkedRole   ECS's, Application Auto Scaling's for ECS and Elastic Load
//                           Balancing's role, by the account's first cluster, scaling target and ALB
//   cloudwatch:DescribeAlarms, cloudwatch:PutMetricAlarm, cloudwatch:DeleteAlarms   the alarms of a
//                           target tracking policy, made and removed by Application Auto Scaling
//                           with the caller's permissions (PutScalingPolicy, DeregisterScalableTarget)
// Application Auto Scaling also checks that the caller may ecs:DescribeServices and ecs:UpdateService.
export const AWS_APP_PROVIDER_ACTIONS = [
  'sts:AssumeRole',
  'ec2:DescribeVpcs',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:CreateSecurityGroup',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:DeleteSecurityGroup',
  'ec2:CreateTags',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:CreateLoadBalancer',
  'elasticloadbalancing:ModifyLoadBalancerAttributes',
  'elasticloadbalancing:CreateTargetGroup',
  'elasticloadbalancing:ModifyTargetGroup',
  'elasticloadbalancing:ModifyTargetGroupAttributes',
  'elasticloadbalancing:CreateListener',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:AddTags',
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:DeleteParameters',
  'codebuild:CreateProject',
  'codebuild:UpdateProject',
  'codebuild:DeleteProject',
  'codebuild:StartBuild',
  'codebuild:StopBuild',
  'codebuild:BatchGetBuilds',
  'codebuild:ListBuildsForProject',
  'ecr:CreateRepository',
  'ecr:DescribeRepositories',
  'ecr:PutLifecyclePolicy',
  'ecr:DeleteRepository',
  'ecr:TagResource',
  'ecs:CreateCluster',
  'ecs:DescribeClusters',
  'ecs:DeleteCluster',
  'ecs:RegisterTaskDefinition',
  'ecs:DescribeTaskDefinition',
  'ecs:ListTaskDefinitions',
  'ecs:DeregisterTaskDefinition',
  'ecs:CreateService',
  'ecs:UpdateService',
  'ecs:DescribeServices',
  'ecs:DeleteService',
  'ecs:RunTask',
  'ecs:DescribeTasks',
  'ecs:ListTasks',
  'ecs:StopTask',
  'ecs:TagResource',
  'logs:CreateLogGroup',
  'logs:PutRetentionPolicy',
  'logs:DeleteLogGroup',
  'logs:DescribeLogStreams',
  'logs:GetLogEvents',
  'logs:TagResource',
  'application-autoscaling:RegisterScalableTarget',
  'application-autoscaling:PutScalingPolicy',
  'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DeregisterScalableTarget',
  'application-autoscaling:TagResource',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:PutMetricAlarm',
  'cloudwatch:DeleteAlarms',
  'iam:PassRole',
  'iam:CreateServiceLinkedRole',
] as const;

export type AwsAppProviderAction = (typeof AWS_APP_PROVIDER_ACTIONS)[number];

/** What the role in the customer's account must allow for apps (some the database side needs too). */
export const CUSTOMER_APP_ROLE_ACTIONS: readonly AwsAppProviderAction[] = AWS_APP_PROVIDER_ACTIONS.filter((action) => !action.startsWith('sts:'));

/** Actions in AWS_APP_PROVIDER_ACTIONS that IAM authorises as part of another call: no test sees them sent. */
export const APP_ACTIONS_IMPLIED: readonly AwsAppProviderAction[] = [
  'ec2:CreateTags',
  'elasticloadbalancing:AddTags',
  'ssm:AddTagsToResource',
  'ecr:TagResource',
  'ecs:TagResource',
  'logs:TagResource',
  'application-autoscaling:TagResource',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:PutMetricAlarm',
  'cloudwatch:DeleteAlarms',
  'iam:PassRole',
  'iam:CreateServiceLinkedRole',
];

// What the customer template's two app roles allow (apps/names.ts names them), checked by the
// template's test. The task execution role: ECS pulls an app's image from its ECR repository,
// writes its tasks' logs and reads the parameters its task definition names (decrypted by SSM). The
// build role: CodeBuild writes the build's log, and pulls and pushes the app's image.
export const APP_TASK_EXECUTION_ACTIONS = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchGetImage',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'ssm:GetParameters',
  'kms:Decrypt',
] as const;

export const APP_BUILD_ACTIONS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
] as const;
