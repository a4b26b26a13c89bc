import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { IpPermission } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import {
  ENDPOINT_RULE_DESCRIPTION,
  ETCD_RULE_DESCRIPTION,
  PATRONI_RULE_DESCRIPTION,
  REPLICATION_RULE_DESCRIPTION,
} from '../../providers/aws/ingress.ts';
import {
  AWS_ACTIONS_PROVEN,
  BASE_TAGS,
  cluster,
  COMPONENT_FILTERS,
  ec2Mock,
  GROUP_ID,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  provider,
  rendered,
  sentActions,
  single,
  target,
} from '../support/aws.ts';

mockAws();

describe('ensureSecurityGroup', () => {
  it('describes the rules it adds only in the characters EC2 accepts in a rule description', () => {
    const accepted = /^[A-Za-z0-9 ._\-:/()#,@[\]+=;{}!$*]*$/;
    for (const description of [REPLICATION_RULE_DESCRIPTION, ETCD_RULE_DESCRIPTION, PATRONI_RULE_DESCRIPTION, ENDPOINT_RULE_DESCRIPTION])
      expect(description).toMatch(accepted);
  });

  const lookup = { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db'] }, ...COMPONENT_FILTERS] };
  const planRule: IpPermission = {
    IpProtocol: 'tcp',
    FromPort: 5432,
    ToPort: 5432,
    IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
    Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
  };

  it('creates the group in the default VPC with the plan tags and opens 5432 to the plan CIDRs only', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    const network = await provider().ensureSecurityGroup(target());

    expect(network).toEqual({ networkId: GROUP_ID });
    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([lookup]);
    expect(inputs(ec2Mock.commandCalls(CreateSecurityGroupCommand))).toEqual([
      {
        GroupName: 'cloudseed-p-1-db',
        Description: 'CloudSeed orders/db: PostgreSQL from the plan allowed networks only',
        VpcId: 'vpc-1',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [...BASE_TAGS, { Key: 'Name', Value: 'orders/db' }] }],
      },
    ]);
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      { GroupId: GROUP_ID, IpPermissions: [planRule], TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }] },
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('lets a cluster nodes reach each other on 5432 through the group itself', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target(cluster));

    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))[0]?.IpPermissions).toEqual([
      {
        ...planRule,
        UserIdGroupPairs: [{ GroupId: GROUP_ID, Description: 'PostgreSQL replication between the component nodes' }],
      },
    ]);
  });

  it('converges an existing group: authorises what the plan adds, revokes what it no longer has, opens nothing else', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP_ID,
          GroupName: 'cloudseed-p-1-db',
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: '203.0.113.0/24' }, { CidrIp: '198.51.100.0/24', Description: 'old plan' }],
              Ipv6Ranges: [],
              UserIdGroupPairs: [],
              PrefixListIds: [],
            },
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '0.0.0.0/0' }],
              Ipv6Ranges: [],
              UserIdGroupPairs: [],
              PrefixListIds: [],
            },
          ],
          IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        },
      ],
    });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target());

    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      {
        GroupId: GROUP_ID,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
          },
        ],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }],
      },
    ]);
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      {
        GroupId: GROUP_ID,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '198.51.100.0/24' }] },
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      },
    ]);
    expect(sentActions()).toEqual(['ec2:DescribeSecurityGroups', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress']);
  });

  it('changes nothing when the group already matches the plan', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP_ID,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: '203.0.113.0/24' }],
              Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48' }],
              UserIdGroupPairs: [{ GroupId: GROUP_ID, UserId: '123456789012' }],
            },
          ],
        },
      ],
    });

    await provider().ensureSecurityGroup(target(cluster));

    expect(sentActions()).toEqual(['ec2:DescribeSecurityGroups']);
  });

  it("keeps the rules that admit the plan's apps, which the apps' deploys own", async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: GROUP_ID,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: '203.0.113.0/24' }],
              Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48' }],
              UserIdGroupPairs: [
                { GroupId: GROUP_ID, UserId: '123456789012' },
                { GroupId: 'sg-0app0000000000001', UserId: '123456789012', Description: 'PostgreSQL from app web' },
              ],
            },
          ],
        },
      ],
    });

    await provider().ensureSecurityGroup(target(cluster));

    expect(sentActions()).toEqual(['ec2:DescribeSecurityGroups']);
  });

  it('uses a configured VPC without looking for the default one', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider({ vpcId: 'vpc-7' }).ensureSecurityGroup(target());

    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([
      { Filters: [...lookup.Filters, { Name: 'vpc-id', Values: ['vpc-7'] }] },
    ]);
    expect(inputs(ec2Mock.commandCalls(CreateSecurityGroupCommand))[0]?.VpcId).toBe('vpc-7');
    expect(ec2Mock.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
  });

  it('refuses a rendered rule that opens anything but PostgreSQL', async () => {
    const ssh = {
      ...rendered(single),
      securityGroup: {
        ...rendered(single).securityGroup,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      },
    };
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID, IpPermissions: [] }] });

    await expect(provider({ render: () => ssh }).ensureSecurityGroup(target())).rejects.toThrow(/must open tcp 5432 only/);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.network);
