import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AccessLogs } from './access-logs.ts';
import { Api } from './api.ts';
import type { ApiDomain } from './api.ts';
import { Auth } from './auth.ts';
import { Backups } from './backups.ts';
import { CloudFederation } from './cloud-federation.ts';
import { synthesizeCustomerTemplate } from './customer-account-stack.ts';
import { CustomerTemplate } from './customer-template.ts';
import { Data } from './data.ts';
import { Monitoring } from './monitoring.ts';
import { Web } from './web.ts';
import { Workflows } from './workflows.ts';

// CloudSeed's own account: sign-in, data, the API, the deploy and teardown workflows, backup
// schedules, monitoring, the site, and the published customer template. One construct per
// concern; references pass between them as objects, never names. (Backups themselves stay in the
// customers' accounts.)

export type StageName = 'dev' | 'prod' | (string & {});

export interface PlatformStackProps extends StackProps {
  /** `prod` keeps user data (tables, pool, buckets) when the stack goes, and protects it from deletion. */
  readonly stage: StageName;
  /** The built SPA; @default web/build when it exists. */
  readonly webBuildDir?: string;
  /** The customer template's JSON to publish; @default the CloudSeedCustomerAccount stack, synthesized. */
  readonly customerTemplate?: string;
  /** A custom domain for the API (CloudFront's origin); without it the execute-api endpoint stays on. */
  readonly apiDomain?: ApiDomain;
  /** CloudSeed's multi-tenant Entra app (its application id), for connecting Azure subscriptions. */
  readonly azureAppId?: string;
  /** The SES-verified sender of customers' alert e-mails; without it alerts are listed, not e-mailed. */
  readonly alertsFrom?: string;
}

export class PlatformStack extends Stack {
  readonly auth: Auth;
  readonly data: Data;
  readonly workflows: Workflows;
  readonly api: Api;
  readonly backups: Backups;
  readonly monitoring: Monitoring;
  readonly web: Web;
  readonly customerTemplate: CustomerTemplate;
  readonly federation: CloudFederation;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const retain = props.stage === 'prod';
    // Logs are kept as configured per log group in prod; dev stacks take theirs along when deleted.
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const accessLogs = new AccessLogs(this, 'AccessLogs', { retain });
    this.auth = new Auth(this, 'Auth', { retain });
    this.data = new Data(this, 'Data', { retain });
    this.backups = new Backups(this, 'Backups', { retain });
    this.customerTemplate = new CustomerTemplate(this, 'CustomerTemplate', {
      template: props.customerTemplate ?? synthesizeCustomerTemplate(),
      accessLogs: accessLogs.bucket,
      retain,
    });
    this.federation = new CloudFederation(this, 'CloudFederation', props.azureAppId ? { azureAppId: props.azureAppId } : {});
    this.workflows = new Workflows(this, 'Workflows', { data: this.data, backups: this.backups, federation: this.federation, removalPolicy });
    this.api = new Api(this, 'Api', {
      auth: this.auth,
      data: this.data,
      workflows: this.workflows,
      customerTemplate: this.customerTemplate,
      federation: this.federation,
      removalPolicy,
      ...(props.apiDomain ? { domain: props.apiDomain } : {}),
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      data: this.data,
      workflows: this.workflows,
      api: this.api.httpApi,
      federation: this.federation,
      removalPolicy,
      ...(props.alertsFrom ? { alertsFrom: props.alertsFrom } : {}),
    });
    this.web = new Web(this, 'Web', {
      api: this.api,
      auth: this.auth,
      accessLogs: accessLogs.bucket,
      retain,
      ...(props.webBuildDir ? { buildDir: props.webBuildDir } : {}),
    });

    // An alert e-mail links to its plan in the web app.
    this.monitoring.alerts.lambda.addEnvironment('WEB_ORIGIN', `https://${this.web.distribution.distributionDomainName}`);
    new CfnOutput(this, 'Url', { description: 'CloudSeed', value: `https://${this.web.distribution.distributionDomainName}` });
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.auth.client.userPoolClientId });
    new CfnOutput(this, 'BackupScheduleGroup', {
      description: 'EventBridge Scheduler group for backup schedules',
      value: this.backups.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, 'BackupSchedulerRoleArn', { description: 'Role the backup schedules run with', value: this.backups.schedulerRole.roleArn });
    new CfnOutput(this, 'CustomerTemplateUrl', {
      description: 'The customer template, as CloudFormation launches it (GET /v1/accounts gives each customer a launch link)',
      value: this.customerTemplate.url,
    });
    if (this.api.customDomain && props.apiDomain) {
      new CfnOutput(this, 'ApiDomainTarget', {
        description: `Point ${props.apiDomain.domainName} here (a CNAME, or a Route 53 alias with ApiDomainHostedZoneId): CloudFront reaches the API by that name`,
        value: this.api.customDomain.regionalDomainName,
      });
      new CfnOutput(this, 'ApiDomainHostedZoneId', {
        description: 'The hosted zone of ApiDomainTarget, for a Route 53 alias record',
        value: this.api.customDomain.regionalHostedZoneId,
      });
    }
    new CfnOutput(this, 'CloudFederationRoleArn', {
      description:
        "The role CloudSeed signs in to customers' Google Cloud projects and Azure tenants as (the subject of the Entra app's federated credential)",
      value: this.federation.role.roleArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'Subscribe to hear about failed workflows and API errors',
      value: this.monitoring.alarmTopic.topicArn,
    });
  }
}
