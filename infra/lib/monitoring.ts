import { Duration, Stack } from 'aws-cdk-lib';
import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CloudFederation } from './cloud-federation.ts';
import { grantCustomerAccountAccess } from './customer-access.ts';
import type { Data } from './data.ts';
import { JOB_MODULES } from './function-bundle.ts';
import { CloudSeedFunction } from './function.ts';

// The health check of running deployments and their customers' alert rules, every minute, and the
// alarms an operator wants to hear about: failed workflows and API 5xx. Alarms go to an encrypted,
// TLS-only SNS topic; a customer's alert is e-mailed with SES from the operator's verified sender.

/** The SES-verified address customers' alert e-mails come from: `-c alertsFromAddress=alerts@example.com`. */
export const ALERTS_FROM_CONTEXT = 'alertsFromAddress';
const ADDRESS = /^[^\s@]+@([^\s@]+\.[^\s@]+)$/;

/** The sender the context gives, or undefined; anything but an e-mail address stops the synth here. */
export function alertsFromContext(tryGetContext: (key: string) => unknown): string | undefined {
  const value: unknown = tryGetContext(ALERTS_FROM_CONTEXT);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !ADDRESS.test(value.trim()))
    throw new Error(
      `context ${ALERTS_FROM_CONTEXT} must be an e-mail address SES has verified (or whose domain it has), not ${JSON.stringify(value)}`,
    );
  return value.trim();
}

export interface MonitoringProps {
  readonly data: Data;
  readonly workflows: {
    readonly deploy: sfn.IStateMachine;
    readonly teardown: sfn.IStateMachine;
    grantStartTo(fn: CloudSeedFunction, ...names: 'backup'[]): void;
  };
  readonly api: apigw.IHttpApi;
  readonly federation: CloudFederation;
  readonly removalPolicy: RemovalPolicy;
  /** The SES-verified sender of alert e-mails; without it incidents are listed, not e-mailed. */
  readonly alertsFrom?: string;
}

export class Monitoring extends Construct {
  readonly healthCheck: CloudSeedFunction;
  readonly alerts: CloudSeedFunction;
  readonly alarmTopic: sns.Topic;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.healthCheck = new CloudSeedFunction(this, 'HealthCheck', {
      module: JOB_MODULES.healthCheck,
      service: 'cloudseed-health',
      description: 'CloudSeed: checks every node of every running deployment',
      // Finishes before the next run starts.
      timeout: Duration.seconds(50),
      removalPolicy: props.removalPolicy,
    });
    props.data.deployments.grantReadWriteTo(this.healthCheck);
    props.data.plans.grantReadTo(this.healthCheck);
    // A cluster whose leader moved gets a full backup at once (functions/lib/backup-workflow.ts).
    props.data.backups.grantReadWriteTo(this.healthCheck);
    props.workflows.grantStartTo(this.healthCheck, 'backup');
    // The connection to each deployment's AWS account (steps/context.ts targetOf).
    props.data.accounts.grantReadTo(this.healthCheck);
    grantCustomerAccountAccess(this.healthCheck, props.federation);
    new events.Rule(this, 'EveryMinute', {
      description: 'Runs the CloudSeed health check',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A missed run is made up by the next one a minute later.
      targets: [new targets.LambdaFunction(this.healthCheck.lambda, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    this.alerts = new CloudSeedFunction(this, 'Alerts', {
      module: JOB_MODULES.alerts,
      service: 'cloudseed-alerts',
      description: 'CloudSeed: evaluates the alert rules of every running deployment',
      timeout: Duration.seconds(50),
      removalPolicy: props.removalPolicy,
    });
    // Reads the running deployments (every table's name, as each function module names them at load); writes incidents.
    props.data.grantReadTo(this.alerts);
    props.data.alerts.grantReadWriteTo(this.alerts);
    // The metric rules read what a plan's nodes publish in its account (CloudWatch on AWS).
    grantCustomerAccountAccess(this.alerts, props.federation);
    if (props.alertsFrom) {
      const [, domain = ''] = ADDRESS.exec(props.alertsFrom) ?? [];
      this.alerts.lambda.addEnvironment('ALERTS_FROM_ADDRESS', props.alertsFrom);
      // SES checks the sender's identity: the address, or the domain it is verified under.
      this.alerts.lambda.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [
            Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: props.alertsFrom }),
            Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: domain }),
          ],
          conditions: { StringEquals: { 'ses:FromAddress': props.alertsFrom } },
        }),
      );
    }
    new events.Rule(this, 'AlertsEveryMinute', {
      description: 'Evaluates the CloudSeed alert rules',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.alerts.lambda, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: a key of our own that allows it.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'CloudSeed alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'CloudSeed alarms', masterKey: key, enforceSSL: true });
    const notify = new actions.SnsAction(this.alarmTopic);

    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const atLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    this.alarms = [
      new cloudwatch.Alarm(this, 'DeployFailed', {
        alarmDescription: 'A CloudSeed deploy execution failed',
        metric: props.workflows.deploy.metricFailed(fiveMinutes),
        ...atLeastOnce,
      }),
      new cloudwatch.Alarm(this, 'TeardownFailed', {
        alarmDescription: 'A CloudSeed teardown execution failed: resources may be left in a customer account',
        metric: props.workflows.teardown.metricFailed(fiveMinutes),
        ...atLeastOnce,
      }),
      new cloudwatch.Alarm(this, 'Api5xx', {
        alarmDescription: 'The CloudSeed API answered with 5xx',
        metric: props.api.metricServerError(fiveMinutes),
        ...atLeastOnce,
      }),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(notify);
  }
}
