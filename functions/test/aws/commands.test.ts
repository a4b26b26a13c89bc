import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, InvocationDoesNotExist, SendCommandCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../providers/errors.ts';
import type { CommandRef } from '../../providers/provider.ts';
import {
  AWS_ACTIONS_PROVEN,
  cluster,
  decodedScript,
  ec2Mock,
  inputs,
  instance,
  itSentOnlyListedActions,
  mockAws,
  node,
  provider,
  rendered,
  reservations,
  sentActions,
  single,
  sleep,
  ssmMock,
  target,
} from '../support/aws.ts';

mockAws();

describe('nodesReady', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a'), node('db-1', 'replica', 'i-0000000000000000b')];

  it('is pending until every instance runs and its SSM agent is online', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'pending')));
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', PingStatus: 'Online' }] });

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({ state: 'pending', detail: '1 of 2 nodes online' });
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: [{ Name: 'instance-id', Values: ['i-0000000000000000a', 'i-0000000000000000b'] }] },
    ]);
    expect(inputs(ssmMock.commandCalls(DescribeInstanceInformationCommand))).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0000000000000000a', 'i-0000000000000000b'] }] },
    ]);
  });

  it('is done when all are running and online', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(reservations(instance('i-0000000000000000a', 'db-0', 'running'), instance('i-0000000000000000b', 'db-1', 'running')));
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0000000000000000a', PingStatus: 'Online' },
        { InstanceId: 'i-0000000000000000b', PingStatus: 'Online' },
      ],
    });

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({ state: 'done' });
  });

  it('fails when an instance stopped or was terminated', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(
      reservations(
        instance('i-0000000000000000a', 'db-0', 'running'),
        instance('i-0000000000000000b', 'db-1', 'terminated', {
          StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' },
        }),
      ),
    );

    await expect(provider().nodesReady(target(cluster), nodes)).resolves.toEqual({
      state: 'failed',
      reason: 'node db-1 (i-0000000000000000b) is terminated: Server.InsufficientInstanceCapacity: Insufficient capacity.',
    });
  });
});
describe('sendCommand', () => {
  const primary = node('db-0', 'primary', 'i-0000000000000000a');
  const replicas = [node('db-1', 'replica', 'i-0000000000000000b'), node('db-2', 'replica', 'i-0000000000000000c')];
  const privateIps = reservations(
    instance('i-0000000000000000a', 'db-0', 'running', { PrivateIpAddress: '172.31.5.10', PublicIpAddress: '198.51.100.7' }),
    instance('i-0000000000000000b', 'db-1', 'running', { PrivateIpAddress: '172.31.5.11' }),
    instance('i-0000000000000000c', 'db-2', 'running', { PrivateIpAddress: '172.31.5.12' }),
  );

  function expectedCommands(kind: string, script: string, environment = ''): string[] {
    const encoded = Buffer.from(script).toString('base64');
    return [
      'set -e',
      'umask 077',
      `printf '%s' '${encoded}' | base64 -d > /root/cloudseed-${kind}.sh`,
      `chmod 700 /root/cloudseed-${kind}.sh`,
      `${environment}bash /root/cloudseed-${kind}.sh`,
    ];
  }

  it('runs the install script on every node with AWS-RunShellScript, base64-encoded', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-install' } });

    const command = await provider().sendCommand(target(cluster), [primary, ...replicas], 'install');

    expect(command).toEqual({
      kind: 'install',
      commandIds: ['cmd-install'],
      nodeIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
    });
    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent).toEqual([
      {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
        Parameters: { commands: expectedCommands('install', rendered(cluster).scripts.install), executionTimeout: ['1800'] },
        TimeoutSeconds: 1800,
        Comment: 'CloudSeed p-1/db install',
      },
    ]);
    expect(decodedScript(sent[0]!.Parameters!['commands']!)).toBe(rendered(cluster).scripts.install);
  });

  it('never sends the script text itself, nor any password: only the parameter name travels, inside the encoded script', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-configure' } });

    await provider().sendCommand(target(), [primary], 'configure');

    const [input] = inputs(ssmMock.commandCalls(SendCommandCommand));
    const text = JSON.stringify(input);
    expect(input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0000000000000000a'],
      Parameters: { commands: expectedCommands('configure', rendered(single).scripts.configure), executionTimeout: ['600'] },
      TimeoutSeconds: 600,
      Comment: 'CloudSeed p-1/db configure',
    });
    expect(rendered(single).scripts.configure).toContain('/cloudseed/p-1/db/password');
    expect(text).not.toContain('/cloudseed/p-1/db/password');
    expect(text).not.toContain('PASSWORD');
    expect(text).not.toContain('CREATE ROLE');
    expect(decodedScript(input!.Parameters!['commands']!)).toBe(rendered(single).scripts.configure);
  });

  it("lets the plan's apps in from the VPC when apps use the database, and not otherwise", async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-configure' } });

    await provider().sendCommand(target(single, { linkedApps: ['web'] }), [primary], 'configure');
    await provider().sendCommand(target(single), [primary], 'configure');

    const [linked, alone] = inputs(ssmMock.commandCalls(SendCommandCommand)).map((input) => decodedScript(input.Parameters!['commands']!));
    expect(linked).toContain("ADMIT_VPC='yes'");
    expect(linked).toContain('# @cloudseed-app-rules@');
    expect(alone).toContain("ADMIT_VPC=''");
    expect(alone).not.toContain('# @cloudseed-app-rules@\n');
  });

  it('configures each cluster node with its role and its peers private addresses, one command each', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(privateIps);
    ssmMock
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-0' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-1' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-2' } });

    const command = await provider().sendCommand(target(cluster), [primary, ...replicas], 'configure');

    expect(command).toEqual({
      kind: 'configure',
      commandIds: ['cmd-0', 'cmd-1', 'cmd-2'],
      nodeIds: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'],
    });
    expect(inputs(ec2Mock.commandCalls(DescribeInstancesCommand))).toEqual([
      { Filters: [{ Name: 'instance-id', Values: ['i-0000000000000000a', 'i-0000000000000000b', 'i-0000000000000000c'] }] },
    ]);
    const sent = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent.map((input) => input.InstanceIds)).toEqual([['i-0000000000000000a'], ['i-0000000000000000b'], ['i-0000000000000000c']]);
    expect(sent.map((input) => input.Parameters!['commands'])).toEqual([
      expectedCommands(
        'configure',
        rendered(cluster).scripts.configure,
        "CLOUDSEED_NODE_ROLE='primary' CLOUDSEED_REPLICA_HOSTS='172.31.5.11 172.31.5.12' ",
      ),
      expectedCommands('configure', rendered(cluster).scripts.configure, "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_PRIMARY_HOST='172.31.5.10' "),
      expectedCommands('configure', rendered(cluster).scripts.configure, "CLOUDSEED_NODE_ROLE='replica' CLOUDSEED_PRIMARY_HOST='172.31.5.10' "),
    ]);
  });

  it.each(['172.31.5.11; reboot', '172.031.5.11', '256.1.1.1', '', undefined])('refuses to put %j in a command as an address', async (address) => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        reservations(
          instance('i-0000000000000000a', 'db-0', 'running', { PrivateIpAddress: '172.31.5.10' }),
          instance('i-0000000000000000b', 'db-1', 'running', address === undefined ? {} : { PrivateIpAddress: address }),
        ),
      );

    await expect(provider().sendCommand(target(cluster), [primary, replicas[0]!], 'configure')).rejects.toThrow(PermanentError);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses a node whose instance id is not an EC2 instance id', async () => {
    await expect(provider().sendCommand(target(), [node('db-0', 'primary', "i-1'; reboot")], 'install')).rejects.toThrow(PermanentError);
    expect(sentActions()).toEqual([]);
  });

  it('sends the output to CloudWatch Logs when configured', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-install' } });

    await provider({ commandLogGroup: '/cloudseed/commands' }).sendCommand(target(), [primary], 'install');

    expect(inputs(ssmMock.commandCalls(SendCommandCommand))[0]?.CloudWatchOutputConfig).toEqual({
      CloudWatchLogGroupName: '/cloudseed/commands',
      CloudWatchOutputEnabled: true,
    });
  });
});
describe('commandStatus', () => {
  const command: CommandRef = { kind: 'install', commandIds: ['cmd-1'], nodeIds: ['i-0000000000000000a'] };

  it.each([
    ['Success', { state: 'done' }],
    ['Pending', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    ['InProgress', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    ['Delayed', { state: 'pending', detail: '0 of 1 nodes finished install' }],
    [
      'Failed',
      {
        state: 'failed',
        reason: 'install failed on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
    [
      'TimedOut',
      {
        state: 'failed',
        reason: 'install timed out on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
    [
      'Cancelled',
      {
        state: 'failed',
        reason: 'install was cancelled on i-0000000000000000a (exit 1): Last metadata expiration check\ndnf: no package postgresql17-server',
      },
    ],
  ] as const)('maps %s to %j', async (status, progress) => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: status,
      ResponseCode: 1,
      StandardErrorContent: '\nLast metadata expiration check\ndnf: no package postgresql17-server\n\n',
    });

    await expect(provider().commandStatus(target(), command)).resolves.toEqual(progress);
    expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual([{ CommandId: 'cmd-1', InstanceId: 'i-0000000000000000a' }]);
  });

  it('is pending while the invocation does not exist yet', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ $metadata: { httpStatusCode: 400 }, message: '' }));

    await expect(provider().commandStatus(target(), command)).resolves.toEqual({ state: 'pending', detail: '0 of 1 nodes finished install' });
  });

  it('keeps the last lines of a long standard error, within 500 characters', async () => {
    const stderr = `${Array.from({ length: 100 }, (_, index) => `line ${index} ${'x'.repeat(40)}`).join('\n')}\nfatal: the last line\n`;
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 2, StandardErrorContent: stderr });

    const progress = await provider().commandStatus(target(), command);

    expect(progress.state).toBe('failed');
    const reason = progress.state === 'failed' ? progress.reason : '';
    expect(reason.length).toBeLessThanOrEqual(500);
    expect(reason).toMatch(/^install failed on i-0000000000000000a \(exit 2\): line \d+ x+\n/);
    expect(reason.endsWith('line 99 ' + 'x'.repeat(40) + '\nfatal: the last line')).toBe(true);
  });

  it('checks each node of a per-node command with its own command id', async () => {
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-0', InstanceId: 'i-0000000000000000a' })
      .resolves({ Status: 'Success' })
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: 'i-0000000000000000b' })
      .resolves({ Status: 'InProgress' });

    const progress = await provider().commandStatus(target(cluster), {
      kind: 'configure',
      commandIds: ['cmd-0', 'cmd-1'],
      nodeIds: ['i-0000000000000000a', 'i-0000000000000000b'],
    });

    expect(progress).toEqual({ state: 'pending', detail: '1 of 2 nodes finished configure' });
    expect(inputs(ssmMock.commandCalls(GetCommandInvocationCommand))).toEqual([
      { CommandId: 'cmd-0', InstanceId: 'i-0000000000000000a' },
      { CommandId: 'cmd-1', InstanceId: 'i-0000000000000000b' },
    ]);
  });

  it('refuses a command reference whose ids do not match its instances', async () => {
    await expect(provider().commandStatus(target(), { kind: 'install', commandIds: ['a', 'b'], nodeIds: ['i-0000000000000000a'] })).rejects.toThrow(
      PermanentError,
    );
  });
});
describe('verify', () => {
  const nodes = [node('db-0', 'primary', 'i-0000000000000000a')];

  it('runs SELECT 1 locally and over TLS as the application role, reading the password inside the script', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ $metadata: {}, message: '' }))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: 'PostgreSQL answers over TLS' });

    await provider().verify(target(), nodes);

    const [input] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0000000000000000a'],
      TimeoutSeconds: 60,
      Comment: 'CloudSeed p-1/db verify',
    });
    const script = decodedScript(input!.Parameters!['commands']!);
    expect(script).toContain("runuser -u postgres -- psql -X -tA -c 'SELECT 1'");
    expect(script).toContain("PGSSLROOTCERT='/etc/cloudseed/ca.crt'");
    expect(script).toContain('PGSSLMODE=verify-full');
    expect(script).toContain("PGUSER='app'");
    expect(script).toContain("PGDATABASE='app'");
    expect(script).toContain("PASSWORD_PARAMETER='/cloudseed/p-1/db/password'");
    expect(script).toContain("REGION='eu-central-1'");
    expect(JSON.stringify(input)).not.toContain('PGPASSWORD');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    expect(sleep.mock.calls).toEqual([[3000], [3000], [3000]]);
  });

  it('fails with the node and what went wrong', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 2,
      StandardErrorContent: 'psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host "127.0.0.1"',
    });

    const error: unknown = await provider()
      .verify(target(), nodes)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(
      'verification failed on db-0 (i-0000000000000000a) (exit 2): psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host "127.0.0.1"',
    );
  });

  it('gives up after about a minute with a TransientError', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-verify' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });

    await expect(provider().verify(target(), nodes)).rejects.toThrow(TransientError);
    expect(sleep.mock.calls.reduce((total, [ms]) => total + ms, 0)).toBe(60_000);
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.commands);
