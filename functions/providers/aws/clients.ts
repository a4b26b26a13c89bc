import { setTimeout as delay } from 'node:timers/promises';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { AwsComponent } from '@cloudseed/shared';
import type { DeployTarget } from '../provider.ts';
import type { AccountClients, ClientsFactory, Clock } from './credentials.ts';

// What every AWS service module works with for one call: the target, its aws-json component, the
// clients in the customer's account (through the assumed role) and the clock it waits with.

/** Where in the account the provider puts what it creates; the account's defaults when left out. */
export interface AwsPlacement {
  /** Put security groups in this VPC instead of the account's default VPC. */
  readonly vpcId?: string;
  /** Launch into this subnet (and its VPC) instead of the default VPC's default subnet. */
  readonly subnetId?: string;
  /** Send Run Command output to this CloudWatch Logs group (the instance profile must allow it). */
  readonly commandLogGroup?: string;
}

export interface AwsContext {
  readonly target: DeployTarget;
  readonly component: AwsComponent;
  readonly clients: AccountClients;
  readonly clock: Clock;
  readonly placement: AwsPlacement;
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

/** Standard retries, 5 attempts, in the account's region. */
export function defaultClients(): ClientsFactory {
  return (account, credentials) => {
    const config = { region: account.region, credentials, retryMode: 'standard', maxAttempts: 5 };
    const s3 = new Map<string, S3Client>();
    return {
      ec2: new EC2Client(config),
      elb: new ElasticLoadBalancingV2Client(config),
      ssm: new SSMClient(config),
      // IAM is global; the SDK signs for its one endpoint in the account's partition.
      iam: new IAMClient(config),
      cloudwatch: new CloudWatchClient(config),
      s3: (region) => {
        // followRegionRedirects: a bucket whose name does not say its region still answers, one round trip later.
        const client = s3.get(region) ?? new S3Client({ ...config, region, followRegionRedirects: true });
        s3.set(region, client);
        return client;
      },
    };
  };
}
