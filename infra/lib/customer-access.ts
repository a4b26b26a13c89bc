import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { CloudFederation } from './cloud-federation.ts';
import type { CloudSeedFunction, ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';
import { CUSTOMER_ROLE_NAME } from './names.ts';

// Reaching a customer's cloud: on AWS the functions that run a provider assume the role the customer
// template created there (which creates each plan's node role there, named after the plan); on Google
// Cloud and Azure they assume the platform's federation role, which those clouds trust.

/** `arn:<partition>:iam::*:role/CloudSeedDeployer*`: the customers' accounts are not known when the platform deploys. */
export function customerRoleArnPattern(scope: Construct): string {
  return `arn:${Stack.of(scope).partition}:iam::*:role/${CUSTOMER_ROLE_NAME}*`;
}

/**
 * Allows `sts:AssumeRole` on the CloudSeed role in any customer account. The account is a wildcard
 * because customers connect accounts at run time; the role name is fixed by the template they
 * launch, and each role trusts the platform only under the customer's own ExternalId (which IAM
 * checks on their side: a policy here cannot express it). Connecting an account needs only this.
 */
export function grantCustomerRoleAssumption(fn: ConfigurableFunction & Construct): void {
  const pattern = customerRoleArnPattern(fn);
  iam.Grant.addToPrincipal({ grantee: fn, actions: ['sts:AssumeRole'], resourceArns: [pattern] });
  acknowledge(
    fn,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${CUSTOMER_ROLE_NAME}*]`,
    `Customers connect their own AWS accounts at run time, so the account of the ${CUSTOMER_ROLE_NAME} role cannot be known at deploy time; the role name is fixed by the customer template and each role only trusts this platform under the customer's ExternalId.`,
  );
}

/** What the providers need: assuming the customer's AWS role, and the federation role for Google Cloud and Azure. */
export function grantCustomerAccountAccess(fn: CloudSeedFunction, federation: CloudFederation): void {
  grantCustomerRoleAssumption(fn);
  federation.federate(fn);
}
