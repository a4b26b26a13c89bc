import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { AwsProvider, roleSessionName } from '../../providers/aws/index.ts';
import { AccountAccessError, PermanentError } from '../../providers/errors.ts';
import {
  ACCOUNT,
  AWS_ACTIONS_PROVEN,
  ec2Mock,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  provider,
  rendered,
  sentActions,
  single,
  sleep,
  stsMock,
  T0,
  target,
  time,
} from '../support/aws.ts';

mockAws();

describe('preflight and the customer account', () => {
  it('refuses a target without an account before calling AWS', async () => {
    const attempt = provider().preflight(target(single, { account: undefined }));

    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(/no AWS account is connected/);
    expect(sentActions()).toEqual([]);
  });

  it('assumes the role with the ExternalId, a named 15-minute session, and finds the default VPC', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', IsDefault: true }] });

    await provider().preflight(target());

    expect(inputs(stsMock.commandCalls(AssumeRoleCommand))).toEqual([
      { RoleArn: ACCOUNT.roleArn, ExternalId: ACCOUNT.externalId, RoleSessionName: 'cloudseed-dep-1', DurationSeconds: 900 },
    ]);
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([{ Filters: [{ Name: 'isDefault', Values: ['true'] }] }]);
  });

  it('maps AccessDenied on AssumeRole to a clear AccountAccessError', async () => {
    stsMock.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized to perform: sts:AssumeRole',
      }),
    );

    const error: unknown = await provider()
      .preflight(target())
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AccountAccessError);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({
      name: 'AccountAccessError',
      message: `CloudSeed cannot assume ${ACCOUNT.roleArn}; check the trust policy and ExternalId`,
    });
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([]);
  });

  it('assumes the role again after a refusal, once the customer has fixed the trust policy', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }))
      .resolves({
        Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(time.now + 900_000) },
      });
    const aws = provider();

    await expect(aws.preflight(target())).rejects.toThrow(AccountAccessError);
    await expect(aws.preflight(target())).resolves.toBeUndefined();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('refuses an account without a default VPC', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });

    await expect(provider().preflight(target())).rejects.toThrow(/no default VPC in eu-central-1/);
  });

  it('refuses a component rendered for another plan', async () => {
    await expect(provider({ render: () => rendered(single) }).preflight(target(single, { planId: 'p-other' }))).rejects.toThrow(PermanentError);
    expect(sentActions()).toEqual([]);
  });

  it('uses the VPC of a configured subnet', async () => {
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-1', VpcId: 'vpc-9' }] });

    await provider({ subnetId: 'subnet-1' }).preflight(target());

    expect(inputs(ec2Mock.commandCalls(DescribeSubnetsCommand))).toEqual([{ SubnetIds: ['subnet-1'] }]);
    expect(inputs(ec2Mock.commandCalls(DescribeVpcsCommand))).toEqual([]);
  });

  it('reuses the assumed credentials until five minutes before they expire', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    const aws = provider();

    await aws.preflight(target());
    time.now = T0 + 9 * 60_000;
    await aws.preflight(target());
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);

    time.now = T0 + 10 * 60_000 + 1;
    await aws.preflight(target());
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('builds real clients in the account region, with standard retries, that sign with the assumed role', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    const aws = new AwsProvider({ sts: new STSClient({ region: 'us-east-1' }), clock: { now: () => time.now, sleep } });

    await aws.preflight(target());

    const client = ec2Mock.call(0).thisValue as EC2Client;
    expect(await client.config.region()).toBe('eu-central-1');
    expect(await client.config.maxAttempts()).toBe(5);
    expect(client.config.retryMode).toBe('standard');
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('names sessions within what STS accepts', () => {
    expect(roleSessionName('dep/1 x')).toBe('cloudseed-dep-1-x');
    expect(roleSessionName('d'.repeat(100))).toHaveLength(64);
    expect(roleSessionName('d'.repeat(100))).toMatch(/^cloudseed-d+$/);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.account);
