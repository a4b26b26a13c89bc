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
export const NODE_ROLE_ACTIONS = [
  'ssm:GetParameter',
  'kms:Decrypt',
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:GetObject',
  's3:DeleteObject',
] as const;

export type NodeRoleAction = (typeof NODE_ROLE_ACTIONS)[number];
