// Every IAM action AwsProvider needs. The customer's CloudSeed role must allow all of them but
// `sts:AssumeRole` (that one is the platform's, on the customer's role ARN); a test checks the
// role's policy against this list, and another that every command the provider sends is in it.
//
// Some are not API calls of their own but are authorised as part of one:
//   ec2:CreateTags          TagSpecifications on RunInstances, CreateSecurityGroup and ingress rules
//   iam:PassRole            the instance profile's role, on RunInstances
//   ssm:GetParameters       EC2 resolving `resolve:ssm:` AMI parameters for RunInstances
//   ssm:AddTagsToResource   Tags on PutParameter

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
  'ec2:TerminateInstances',
  'ec2:CreateTags',
  'iam:PassRole',
  'ssm:PutParameter',
  'ssm:AddTagsToResource',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:DeleteParameters',
  'ssm:SendCommand',
  'ssm:GetCommandInvocation',
  'ssm:DescribeInstanceInformation',
] as const;

export type AwsProviderAction = (typeof AWS_PROVIDER_ACTIONS)[number];

/** What the role in the customer's account must allow. */
export const CUSTOMER_ROLE_ACTIONS: readonly AwsProviderAction[] = AWS_PROVIDER_ACTIONS.filter((action) => !action.startsWith('sts:'));
