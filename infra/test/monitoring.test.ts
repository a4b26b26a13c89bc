import { beforeAll, describe, expect, it } from 'vitest';
import { actionsOf, environmentOf, flat, json, list, pathOf, props, record, referencedId, resourcesOfType, roleStatements } from './synth.ts';
import type { Statement, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function idAt(path: string): string {
  const found = Object.entries(json(app.platformTemplate).Resources).find(([, resource]) => pathOf(resource) === `CloudSeedPlatform/${path}`);
  if (!found) throw new Error(`nothing at ${path}`);
  return found[0];
}

describe('Monitoring', () => {
  it('runs the health check every minute', () => {
    const [[, rule] = []] = resourcesOfType(app.platformTemplate, 'AWS::Events::Rule');
    expect(props(rule!).ScheduleExpression).toBe('rate(1 minute)');
    const targets = props(rule!).Targets as { Arn: unknown }[];
    expect(targets.map((target) => referencedId(target.Arn))).toEqual([idAt('Monitoring/HealthCheck/Function/Resource')]);
  });

  it('names the tables the health check reads, the accounts table included (AWS targets are reached through their account)', () => {
    const fn = json(app.platformTemplate).Resources[idAt('Monitoring/HealthCheck/Function/Resource')]!;
    const environment = environmentOf(fn);
    for (const variable of ['PLANS_TABLE', 'DEPLOYMENTS_TABLE', 'ACCOUNTS_TABLE'])
      expect(referencedId(environment[variable]), variable).toBeDefined();
  });

  it('evaluates customers’ alert rules every minute, with the tables named and a link to the web app', () => {
    const alertsId = idAt('Monitoring/Alerts/Function/Resource');
    const rules = resourcesOfType(app.platformTemplate, 'AWS::Events::Rule').map(([, rule]) => props(rule));
    const rule = rules.find((candidate) => (candidate.Targets as { Arn: unknown }[]).some((target) => referencedId(target.Arn) === alertsId));
    expect(rule?.ScheduleExpression).toBe('rate(1 minute)');
    const environment = environmentOf(json(app.platformTemplate).Resources[alertsId]!);
    for (const variable of ['ALERTS_TABLE', 'DEPLOYMENTS_TABLE', 'PLANS_TABLE']) expect(referencedId(environment[variable]), variable).toBeDefined();
    expect(flat(environment.WEB_ORIGIN)).toMatch(/^https:\/\/\$\{.*DomainName\}$/);
    // No sender configured: incidents are listed, not e-mailed, and the function may not send.
    expect(environment.ALERTS_FROM_ADDRESS).toBeUndefined();
    expect(roleStatements(app.platformTemplate, alertsId).flatMap(actionsOf)).not.toContain('ses:SendEmail');
  });

  it('lets the alerts function send e-mail only from the configured sender', () => {
    const configured = synth({ context: { alertsFromAddress: 'alerts@mail.example.com' } });
    const alertsId = Object.entries(json(configured.platformTemplate).Resources).find(
      ([, resource]) => pathOf(resource) === 'CloudSeedPlatform/Monitoring/Alerts/Function/Resource',
    )![0];
    expect(environmentOf(json(configured.platformTemplate).Resources[alertsId]!).ALERTS_FROM_ADDRESS).toBe('alerts@mail.example.com');
    const send = roleStatements(configured.platformTemplate, alertsId).find((statement) => actionsOf(statement).includes('ses:SendEmail'))!;
    expect(actionsOf(send)).toEqual(['ses:SendEmail']);
    expect(list(send.Resource).map(flat)).toEqual([
      expect.stringMatching(/:ses:.*:identity\/alerts@mail\.example\.com$/),
      expect.stringMatching(/:ses:.*:identity\/mail\.example\.com$/),
    ]);
    expect(send.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'alerts@mail.example.com' } });
    expect(() => synth({ context: { alertsFromAddress: 'not an address' } })).toThrow(/alertsFromAddress must be an e-mail address/);
  }, 60_000);

  it('alarms on a failed deploy and on API 5xx within five minutes, to an encrypted topic', () => {
    const topicId = idAt('Monitoring/Alarms/Resource');
    const alarms = resourcesOfType(app.platformTemplate, 'AWS::CloudWatch::Alarm').map(([, alarm]) => props(alarm));
    const deployFailed = alarms.find(
      (alarm) => alarm.MetricName === 'ExecutionsFailed' && JSON.stringify(alarm.Dimensions).includes(idAt('Workflows/Deploy/Resource')),
    );
    const serverErrors = alarms.find((alarm) => alarm.MetricName === '5xx' && alarm.Namespace === 'AWS/ApiGateway');
    for (const alarm of [deployFailed, serverErrors]) {
      expect(alarm).toMatchObject({
        Threshold: 1,
        Period: 300,
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
      expect((alarm!.AlarmActions as unknown[]).map(referencedId)).toEqual([topicId]);
    }
    const topic = json(app.platformTemplate).Resources[topicId]!;
    expect(referencedId(props(topic).KmsMasterKeyId)).toBe(idAt('Monitoring/AlarmTopicKey/Resource'));
  });

  it('lets CloudWatch use the topic key, and rotates it', () => {
    const key = json(app.platformTemplate).Resources[idAt('Monitoring/AlarmTopicKey/Resource')]!;
    expect(props(key).EnableKeyRotation).toBe(true);
    const statements = record(props(key).KeyPolicy).Statement as Statement[];
    const cloudwatch = statements.find((statement) => JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com'));
    expect(cloudwatch && actionsOf(cloudwatch)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  it('refuses to publish to the alarm topic without TLS', () => {
    const [[, policy] = []] = resourcesOfType(app.platformTemplate, 'AWS::SNS::TopicPolicy');
    expect(record(props(policy!).PolicyDocument).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });
});
