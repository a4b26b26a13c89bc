import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { AccountConnection } from '../../provider.ts';
import type { AppTarget } from '../../app-provider.ts';
import type { AccountClients, AccountSessions, Clock, CredentialsProvider } from '../credentials.ts';
import type { AccountScope, AppNames } from './names.ts';

// The clients an app needs beyond the database side's (EC2, Elastic Load Balancing, SSM, which
// AccountSessions builds): CodeBuild, ECR, ECS, CloudWatch Logs and Application Auto Scaling, in the
// customer's account through the same assumed role and the same cached credentials.

export interface AppServiceClients {
  readonly codebuild: CodeBuildClient;
  readonly ecr: ECRClient;
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  readonly autoscaling: ApplicationAutoScalingClient;
}

/** Builds the app clients for one account; they must take their credentials from `credentials`. */
export type AppClientsFactory = (account: AccountConnection, credentials: CredentialsProvider) => AppServiceClients;

/** Standard retries, 5 attempts, in the account's region (as the database side's clients). */
export function defaultAppClients(): AppClientsFactory {
  return (account, credentials) => {
    const config = { region: account.region, credentials, retryMode: 'standard', maxAttempts: 5 };
    return {
      codebuild: new CodeBuildClient(config),
      ecr: new ECRClient(config),
      ecs: new ECSClient(config),
      logs: new CloudWatchLogsClient(config),
      autoscaling: new ApplicationAutoScalingClient(config),
    };
  };
}

/** Where the app runs, when not the account's default VPC and its default subnets. */
export interface AppPlacement {
  /** Subnets in at least two Availability Zones of one VPC, routed to the internet (the ALB is internet-facing). */
  readonly subnetIds?: readonly string[];
  /** Give tasks a public IP so they reach ECR without a NAT gateway. Default: true (the default VPC's subnets are public). */
  readonly assignPublicIp?: boolean;
}

/** What every app module works with for one call. */
export interface AppContext {
  readonly target: AppTarget;
  readonly names: AppNames;
  readonly scope: AccountScope;
  readonly clients: Pick<AccountClients, 'ec2' | 'elb' | 'ssm'> & AppServiceClients;
  readonly clock: Clock;
  readonly placement: AppPlacement;
}

const MAX_SESSIONS = 64;

/** One set of app clients per (account, deployment), beside AccountSessions' own and taking its credentials. */
export class AppSessions {
  readonly #sessions: AccountSessions;
  readonly #factory: AppClientsFactory;
  readonly #clients = new Map<string, AppServiceClients>();

  constructor(sessions: AccountSessions, factory: AppClientsFactory) {
    this.#sessions = sessions;
    this.#factory = factory;
  }

  clients(account: AccountConnection, deploymentId: string): AppContext['clients'] {
    const { ec2, elb, ssm } = this.#sessions.clients(account, deploymentId);
    const key = JSON.stringify([account.roleArn, account.externalId, account.region, deploymentId]);
    let clients = this.#clients.get(key);
    if (clients) {
      this.#clients.delete(key);
    } else {
      clients = this.#factory(account, () => this.#sessions.credentials(account, deploymentId));
    }
    this.#clients.set(key, clients);
    for (const oldest of this.#clients.keys()) {
      if (this.#clients.size <= MAX_SESSIONS) break;
      this.#clients.delete(oldest);
    }
    return { ec2, elb, ssm, ...clients };
  }
}
