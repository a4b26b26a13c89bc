import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { restoreToPointScript } from '../../providers/node-backups/archive-scripts.ts';
import { dissolveScript } from '../../providers/aws/reform.ts';
import { PermanentError, TransientError } from '../../providers/errors.ts';
import { clusterStateScript, isPatroniCluster, switchoverScript } from '../../providers/aws/ha.ts';
import { shellCommands } from '../../providers/aws/run-command.ts';
import {
  BASE_TAGS,
  cluster,
  COMPONENT_FILTERS,
  BALANCER_DNS,
  balancerReady,
  decodedScript,
  ec2Mock,
  elbMock,
  ENDPOINT_GROUP_ID,
  ENDPOINT_NAME,
  GROUP_ID,
  haCluster,
  inputs,
  itSentOnlyListedActions,
  mockAws,
  provider,
  rendered,
  ssmMock,
  target,
  HA_IDS,
  haNodes,
  haRunning,
} from '../support/aws.ts';

// A cluster of three nodes on AWS runs Patroni and etcd: the network it needs, the secrets, how each
// node is told its part, and health and switchover through Patroni over SSM.

mockAws();

const ids = [...HA_IDS];
const nodes = haNodes();
const patroniComponent = (() => {
  const component = rendered(haCluster);
  if (!isPatroniCluster(component)) throw new Error('a cluster of three nodes runs Patroni');
  return component;
})();
const running = haRunning();

/** Patroni's GET /cluster answer: db-1 leads (after a failover), db-0 and db-2 stream with the given lags. */
function clusterAnswer(lag0 = 0, lag2 = 2048, state2 = 'streaming') {
  return JSON.stringify({
    members: [
      { name: 'db-0', role: 'replica', state: 'streaming', host: '172.31.5.10', port: 5432, timeline: 2, lag: lag0 },
      { name: 'db-1', role: 'leader', state: 'running', host: '172.31.5.11', port: 5432, timeline: 2 },
      { name: 'db-2', role: 'replica', state: state2, host: '172.31.5.12', port: 5432, timeline: 2, lag: lag2 },
    ],
  });
}

describe('the security group of a Patroni cluster', () => {
  const FROM_BALANCER = 'PostgreSQL and the Patroni /primary health check from the cluster load balancer';
  const planRule = {
    IpProtocol: 'tcp',
    FromPort: 5432,
    ToPort: 5432,
    IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
    Ipv6Ranges: [{ CidrIpv6: '2001:db8::/48', Description: 'PostgreSQL clients (plan allowedCidrs)' }],
    UserIdGroupPairs: [
      { GroupId: GROUP_ID, Description: 'PostgreSQL replication between the component nodes' },
      { GroupId: ENDPOINT_GROUP_ID, Description: FROM_BALANCER },
    ],
  };
  const etcdRule = {
    IpProtocol: 'tcp',
    FromPort: 2379,
    ToPort: 2380,
    UserIdGroupPairs: [{ GroupId: GROUP_ID, Description: 'etcd between the cluster nodes (the Patroni leader lock)' }],
  };
  const patroniRule = {
    IpProtocol: 'tcp',
    FromPort: 8008,
    ToPort: 8008,
    UserIdGroupPairs: [
      { GroupId: GROUP_ID, Description: 'Patroni REST API between the cluster nodes' },
      { GroupId: ENDPOINT_GROUP_ID, Description: FROM_BALANCER },
    ],
  };

  it("opens etcd's 2379-2380 and Patroni's 8008 to the group itself only, PostgreSQL and 8008 to the load balancer's group, never to the plan's networks", async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: GROUP_ID });
    ec2Mock.on(CreateSecurityGroupCommand, { GroupName: 'cloudseed-p-1-db-endpoint' }).resolves({ GroupId: ENDPOINT_GROUP_ID });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target(haCluster));

    const { UserIdGroupPairs: _pairs, ...cidrRule } = planRule;
    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      { GroupId: ENDPOINT_GROUP_ID, IpPermissions: [cidrRule], TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }] },
      {
        GroupId: GROUP_ID,
        IpPermissions: [planRule, etcdRule, patroniRule],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }],
      },
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('refuses a plan that shrinks a Patroni cluster to a primary and one replica before changing the group', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID, IpPermissions: [planRule, etcdRule, patroniRule] }] });

    await expect(provider().ensureSecurityGroup(target(cluster))).rejects.toThrow(
      new PermanentError(
        'db runs Patroni (automatic failover), which on AWS needs at least 2 replicas; keep 2 or more, or remove the component and deploy it again',
      ),
    );
    expect(inputs(ec2Mock.commandCalls(DescribeSecurityGroupsCommand))).toEqual([
      { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db'] }, ...COMPONENT_FILTERS] },
    ]);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('converges a Patroni cluster group that lost its etcd and Patroni rules, and revokes one opened too widely', async () => {
    const { UserIdGroupPairs: _pairs, ...cidrRule } = planRule;
    const wide = { IpProtocol: 'tcp', FromPort: 8008, ToPort: 8008, IpRanges: [{ CidrIp: '203.0.113.0/24' }] };
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP_ID, IpPermissions: [cidrRule, wide] }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'group-name', Values: ['cloudseed-p-1-db-endpoint'] }, ...COMPONENT_FILTERS] })
      .resolves({ SecurityGroups: [{ GroupId: ENDPOINT_GROUP_ID, IpPermissions: [cidrRule] }] });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });

    await provider().ensureSecurityGroup(target(haCluster));

    expect(inputs(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand))).toEqual([
      {
        GroupId: GROUP_ID,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: planRule.UserIdGroupPairs }, etcdRule, patroniRule],
        TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: BASE_TAGS }],
      },
    ]);
    expect(inputs(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand))).toEqual([
      { GroupId: GROUP_ID, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8008, ToPort: 8008, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }] },
    ]);
  });
});

describe("a Patroni cluster's secrets", () => {
  it("keeps the rewind role's and Patroni's REST API passwords in Parameter Store as SecureStrings", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    await provider().ensurePassword(target(haCluster));

    const puts = inputs(ssmMock.commandCalls(PutParameterCommand));
    expect(puts.map((input) => input.Name)).toEqual([
      '/cloudseed/p-1/db/password',
      '/cloudseed/p-1/db/replication-password',
      '/cloudseed/p-1/db/rewind-password',
      '/cloudseed/p-1/db/patroni-password',
      '/cloudseed/p-1/certificate-authority',
      '/cloudseed/p-1/db/archive-cipher-pass',
    ]);
    const rest = puts.find((input) => input.Name === '/cloudseed/p-1/db/patroni-password');
    expect(rest).toEqual({
      Name: '/cloudseed/p-1/db/patroni-password',
      Description: "CloudSeed p-1/db: password of Patroni's REST API",
      Value: expect.stringMatching(/^[A-Za-z0-9]{32}$/) as unknown,
      Type: 'SecureString',
      Overwrite: false,
      Tags: BASE_TAGS,
    });
  });
});

describe("configuring a Patroni cluster's nodes", () => {
  it('tells each node its name, every member address, the etcd members, which one it runs and the load balancer, and no secret', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();
    ssmMock
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-0' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-1' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-2' } });

    await provider().sendCommand(target(haCluster), nodes, 'configure');

    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent.map((input) => input.InstanceIds)).toEqual(ids.map((id) => [id]));
    const common =
      "CLOUDSEED_PRIMARY_HOST='172.31.5.10' CLOUDSEED_REPLICA_HOSTS='172.31.5.10 172.31.5.11 172.31.5.12' CLOUDSEED_ETCD_HOSTS='172.31.5.10 172.31.5.11 172.31.5.12'";
    const balancer = `CLOUDSEED_ENDPOINT_HOST='${BALANCER_DNS}'`;
    expect(sent.map((input) => input.Parameters!['commands']!.at(-1))).toEqual([
      `CLOUDSEED_NODE_ROLE='primary' CLOUDSEED_NODE_NAME='db-0' ${common} CLOUDSEED_ETCD_MEMBER='0' ${balancer} bash /root/cloudseed-configure.sh`,
      `CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_NODE_NAME='db-1' ${common} CLOUDSEED_ETCD_MEMBER='1' ${balancer} bash /root/cloudseed-configure.sh`,
      `CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_NODE_NAME='db-2' ${common} CLOUDSEED_ETCD_MEMBER='2' ${balancer} bash /root/cloudseed-configure.sh`,
    ]);
    expect(inputs(elbMock.commandCalls(DescribeLoadBalancersCommand))).toEqual([{ Names: [ENDPOINT_NAME] }]);
    for (const input of sent) {
      expect(decodedScript(input.Parameters!['commands']!)).toBe(rendered(haCluster).scripts.configure);
      expect(input.TimeoutSeconds).toBe(600);
    }
  });
});

describe('health of a Patroni cluster', () => {
  it("asks every node's Patroni for GET /cluster in one command and maps its members, roles as Patroni says", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-state' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'Failed', StandardErrorContent: 'Patroni on 172.31.5.10 does not answer GET /cluster' })
      .resolves({ Status: 'Success', StandardOutputContent: clusterAnswer(0, 4096, 'starting') });

    const health = await provider().health(target(haCluster), nodes);

    const [send] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(send).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ids,
      Parameters: { commands: shellCommands('cluster-state', clusterStateScript(patroniComponent)), executionTimeout: ['30'] },
      TimeoutSeconds: 30,
      Comment: 'CloudSeed p-1/db cluster-state',
    });
    const script = decodedScript(send!.Parameters!['commands']!);
    expect(script).toContain("\nPATRONI_REST_PORT='8008'\n");
    expect(script).toContain('curl -sf -m 10 "http://$ADDRESS:$PATRONI_REST_PORT/cluster"');
    expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual([
      { CommandId: 'cmd-state', InstanceId: ids[0] },
      { CommandId: 'cmd-state', InstanceId: ids[1] },
    ]);
    expect(health).toEqual([
      { name: 'db-0', role: 'replica', healthy: true, ha: { patroniRole: 'replica', state: 'streaming', timeline: 2, lagBytes: 0 } },
      { name: 'db-1', role: 'primary', healthy: true, ha: { patroniRole: 'leader', state: 'running', timeline: 2 } },
      {
        name: 'db-2',
        role: 'replica',
        healthy: false,
        detail: 'Patroni says starting',
        ha: { patroniRole: 'replica', state: 'starting', timeline: 2, lagBytes: 4096 },
      },
    ]);
  });

  it('reports a replica more than 1 MiB behind the leader as unhealthy, as the local cloud does', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-state' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: clusterAnswer(1024 * 1024, 5 * 1024 * 1024) });

    const health = await provider().health(target(haCluster), nodes);

    expect(health.map(({ name, healthy, detail }) => [name, healthy, detail])).toEqual([
      ['db-0', true, undefined],
      ['db-1', true, undefined],
      ['db-2', false, '5 MiB behind the leader'],
    ]);
  });

  it('reports every node unhealthy when no Patroni answers', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-state' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StandardErrorContent: 'no answer' });

    await expect(provider().health(target(haCluster), nodes)).resolves.toEqual(
      nodes.map((ref) => ({ name: ref.name, role: ref.role, healthy: false, detail: 'no Patroni of the cluster answers' })),
    );
  });
});

describe('switchover on AWS', () => {
  function clusterRuns(answer = clusterAnswer()) {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-state' } })
      .resolves({ Command: { CommandId: 'cmd-switch' } });
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-state' }).resolves({ Status: 'Success', StandardOutputContent: answer });
  }

  it("posts /switchover on the leader's node, to the replica least behind, reading the REST password there", async () => {
    clusterRuns();
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-switch' })
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: 'switched over from db-1 to db-0' });

    await expect(provider().switchover(target(haCluster))).resolves.toEqual({ from: 'db-1', to: 'db-0' });

    const [state, switchover] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(state?.InstanceIds).toEqual(ids);
    expect(switchover).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [ids[1]],
      Parameters: {
        commands: shellCommands('switchover', switchoverScript(patroniComponent, 'eu-central-1', 'db-1', 'db-0')),
        executionTimeout: ['180'],
      },
      TimeoutSeconds: 180,
      Comment: 'CloudSeed p-1/db switchover',
    });
    const commands = switchover!.Parameters!['commands']!;
    const script = decodedScript(commands);
    expect(script).toContain("\nREST_PASSWORD_PARAMETER='/cloudseed/p-1/db/patroni-password'\n");
    expect(script).toContain("\nLEADER='db-1'\nCANDIDATE='db-0'\n");
    expect(script).toContain(`printf 'user = "%s:%s"\\n' "$REST_USER" "$PASSWORD" \\\n  | curl -s -m 120 -K - `);
    expect(commands.at(-1)).toBe('bash /root/cloudseed-switchover.sh');
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      {
        Filters: [
          ...COMPONENT_FILTERS,
          { Name: 'tag:cloudseed:node', Values: ['db-0', 'db-1', 'db-2'] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      },
    ]);
  });

  it('hands over to the named candidate', async () => {
    clusterRuns();
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-switch' }).resolves({ Status: 'Success' });

    await expect(provider().switchover(target(haCluster), 'db-2')).resolves.toEqual({ from: 'db-1', to: 'db-2' });
    expect(decodedScript(inputs(ssmMock.commandCalls(SendCommandCommand))[1]!.Parameters!['commands']!)).toContain("\nCANDIDATE='db-2'\n");
  });

  it.each([
    ['db-1', 'db-1 leads db already'],
    ['db-7', 'db-7 is not a node of db (its nodes: db-0, db-1, db-2)'],
    ['db-2', 'db-2 is not a healthy replica in step with the leader'],
  ])('refuses candidate %s without asking Patroni to switch', async (candidate, message) => {
    clusterRuns(clusterAnswer(0, 10 * 1024 * 1024));

    await expect(provider().switchover(target(haCluster), candidate)).rejects.toThrow(new PermanentError(message));
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("fails with Patroni's reason when it does not switch over", async () => {
    clusterRuns();
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-switch' })
      .resolves({ Status: 'Failed', StandardErrorContent: 'Patroni did not switch over (HTTP 412): candidate name does not match' });

    await expect(provider().switchover(target(haCluster), 'db-0')).rejects.toThrow(
      'the switchover of db from db-1 to db-0 Failed: Patroni did not switch over (HTTP 412): candidate name does not match',
    );
  });

  it('refuses a primary with one replica: automatic failover on AWS needs at least 2 replicas', async () => {
    await expect(provider().switchover(target(cluster))).rejects.toThrow(
      new PermanentError('db streams to one replica without Patroni: automatic failover and switchover on AWS need at least 2 replicas'),
    );
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('backups of a Patroni cluster', () => {
  it("run on the node that leads now, not on the deployment's primary, which may have failed over", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-state' } })
      .resolves({ Command: { CommandId: 'cmd-window' } });
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-state' }).resolves({ Status: 'Success', StandardOutputContent: clusterAnswer() });
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-window' }).resolves({ Status: 'Failed', StandardErrorContent: 'stopped here' });

    await expect(provider().recoveryWindow(target(haCluster), nodes[0]!)).rejects.toThrow('stopped here');

    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent.map((input) => [input.Comment, input.InstanceIds])).toEqual([
      ['CloudSeed p-1/db cluster-state', ids],
      ['CloudSeed p-1/db recovery-window', [ids[1]]],
    ]);
  });

  it('report that there is no leader rather than run on a replica', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-state' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed' });

    await expect(provider().archiveBackup(target(haCluster), nodes[0]!, { backupId: 'b-1', type: 'full' })).rejects.toThrow(
      new TransientError('db has no leader now (no Patroni of the cluster answers)'),
    );
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });
});

describe('restores of a Patroni cluster', () => {
  /** Every command gets an id naming its label and instance; what each answers is `answers[label]`. */
  function commandsAnswer(answers: Record<string, { Status: string; StandardOutputContent?: string; StandardErrorContent?: string }>) {
    ssmMock.on(SendCommandCommand).callsFake((input: { Comment: string; InstanceIds: string[] }) => ({
      Command: { CommandId: `${input.Comment.split(' ').at(-1)}@${input.InstanceIds.join(',')}` },
    }));
    ssmMock.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string }) => {
      const answer = answers[input.CommandId.split('@')[0]!];
      if (!answer) throw new Error(`no answer for ${input.CommandId}`);
      return answer;
    });
  }
  const sentLabels = () =>
    inputs(ssmMock.commandCalls(SendCommandCommand)).map((input) => `${input.Comment!.split(' ').at(-1)} ${input.InstanceIds!.join(',')}`);
  const sentTo = (label: string, id: string) =>
    inputs(ssmMock.commandCalls(SendCommandCommand)).find((input) => input.Comment!.endsWith(` ${label}`) && input.InstanceIds![0] === id)!;
  const restored = { Status: 'Success', StandardOutputContent: 'CLOUDSEED_RESULT {"status":"restored","timeline":3}\n' };
  const ok = { Status: 'Success', StandardOutputContent: '' };
  const etcd = "CLOUDSEED_ETCD_HOSTS='172.31.5.10 172.31.5.11 172.31.5.12'";

  it("dissolve the cluster, forget it in etcd and restore its leader, then form it again from the leader's restored data", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();
    commandsAnswer({
      'cluster-state': { Status: 'Success', StandardOutputContent: clusterAnswer() },
      dissolve: ok,
      'point-in-time-restore': restored,
      configure: ok,
    });

    await provider().restoreToPoint(target(haCluster), nodes[0]!, { kind: 'time', time: '2030-01-01T01:30:00.000Z' });

    // db-1 leads (it took over since the deploy): it is the one restored.
    expect(sentLabels()).toEqual([
      `cluster-state ${ids.join(',')}`,
      `dissolve ${ids[0]}`,
      `dissolve ${ids[1]}`,
      `dissolve ${ids[2]}`,
      `point-in-time-restore ${ids[1]}`,
      `configure ${ids[1]}`,
    ]);
    const dissolve = decodedScript(sentTo('dissolve', ids[0]!).Parameters!['commands']!);
    expect(dissolve).toContain('systemctl stop cloudseed-patroni.service');
    expect(dissolve).toContain('rm -f "$PATRONI_DIR/adopted"');
    const restore = sentTo('point-in-time-restore', ids[1]!).Parameters!['commands']!;
    expect(restore.at(-1)).toBe(`${etcd} bash /root/cloudseed-point-in-time-restore.sh`);
    const script = decodedScript(restore);
    const prefix = Buffer.from('/cloudseed/p-1-db/').toString('base64');
    const end = Buffer.from('/cloudseed/p-1-db0').toString('base64');
    expect(script).toContain(`FORGET_REQUEST='{"key":"${prefix}","range_end":"${end}"}'`);
    expect(script.indexOf('/v3/kv/deleterange')).toBeLessThan(script.indexOf('backrest restore'));
    expect(sentTo('configure', ids[1]!).Parameters!['commands']!.at(-1)).toBe(
      "CLOUDSEED_NODE_ROLE='primary' CLOUDSEED_NODE_NAME='db-1' CLOUDSEED_PRIMARY_HOST='172.31.5.11' CLOUDSEED_REPLICA_HOSTS='172.31.5.10 172.31.5.11 172.31.5.12' " +
        `${etcd} CLOUDSEED_ETCD_MEMBER='1' CLOUDSEED_ENDPOINT_HOST='${BALANCER_DNS}' bash /root/cloudseed-configure.sh`,
    );
  });

  it('send only shellcheck-clean scripts: the dissolve, and the restore that forgets the cluster first', () => {
    const context = { component: patroniComponent } as Parameters<typeof dissolveScript>[0];
    const restore = restoreToPointScript({
      stanza: 'db',
      database: 'app',
      port: 5432,
      binDir: '/usr/lib/postgresql/15/bin',
      cloud: 'aws',
      cloudValues: { REGION: 'eu-central-1' },
      service: 'postgresql@15-main',
      logDir: '/var/log/postgresql',
      target: { type: 'time', target: '2030-01-01 01:30:00.000+00', set: '' },
      forget: { etcdClientPort: 2379, request: '{"key":"L2Nsb3Vkc2VlZC9wLTEtZGIv","range_end":"L2Nsb3Vkc2VlZC9wLTEtZGIw"}' },
    });
    for (const script of [dissolveScript(context), restore]) {
      const lint = spawnSync('shellcheck', ['-s', 'bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
      expect(lint.error, 'shellcheck must be installed').toBeUndefined();
      expect(lint.stdout).toBe('');
      expect(lint.status).toBe(0);
    }
  });

  it("restore the deployment's primary when no Patroni answers: a cluster that is down is what one restores", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();
    commandsAnswer({ 'cluster-state': { Status: 'Failed' }, dissolve: ok, 'point-in-time-restore': restored, configure: ok });

    await provider().restoreToPoint(target(haCluster), nodes[0]!, { kind: 'restore-point', name: 'cloudseed-bk-1', label: '20300101-000000F' });

    expect(sentLabels().slice(-2)).toEqual([`point-in-time-restore ${ids[0]}`, `configure ${ids[0]}`]);
  });

  it('stop with the reason when the restore fails, and configure nothing', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();
    commandsAnswer({
      'cluster-state': { Status: 'Success', StandardOutputContent: clusterAnswer() },
      dissolve: ok,
      'point-in-time-restore': {
        Status: 'Failed',
        StandardErrorContent: 'cloudseed point-in-time-restore: no etcd member of the cluster answered; nothing was restored',
      },
    });

    await expect(provider().restoreToPoint(target(haCluster), nodes[0]!, { kind: 'time', time: '2030-01-01T01:30:00.000Z' })).rejects.toThrow(
      /no etcd member of the cluster answered; nothing was restored/,
    );
    expect(sentLabels().filter((label) => label.startsWith('configure'))).toEqual([]);
  });

  it('rebuild every member but the leader as a new clone, whatever roles the deployment last recorded', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    balancerReady();
    commandsAnswer({ 'cluster-state': { Status: 'Success', StandardOutputContent: clusterAnswer() }, dissolve: ok, configure: ok });

    // The deployment still says db-0 is the primary; Patroni says db-1 leads.
    await provider().rebuildReplicas(target(haCluster), nodes[0]!, nodes.slice(1));

    expect(sentLabels()).toEqual([
      `cluster-state ${ids.join(',')}`,
      `dissolve ${ids[0]}`,
      `dissolve ${ids[2]}`,
      `configure ${ids[0]}`,
      `configure ${ids[2]}`,
    ]);
    expect(sentTo('configure', ids[2]!).Parameters!['commands']!.at(-1)).toContain(
      "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_NODE_NAME='db-2' CLOUDSEED_PRIMARY_HOST='172.31.5.11'",
    );
  });
});

itSentOnlyListedActions([
  'ssm:SendCommand',
  'ssm:GetCommandInvocation',
  'ssm:PutParameter',
  'ec2:DescribeInstances',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupIngress',
]);
