import { CloudWatchServiceException, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { AWS_ACTIONS_PROVEN, cloudwatchMock, inputs, itSentOnlyListedActions, mockAws, provider, target, T0 } from '../support/aws.ts';
import type { NodeRef } from '../../providers/provider.ts';

// What the nodes publish to CloudWatch, read back as the metrics API answers it: the exact
// GetMetricData asked for (CloudSeed's namespace, each node's instance, a minute or the step asked),
// every page read, each point in its step, nothing made up where a node published nothing.

mockAws();

const NODES: NodeRef[] = [
  { name: 'db-0', role: 'primary', nodeId: 'i-0aaa', port: 5432 },
  { name: 'db-1', role: 'replica', nodeId: 'i-0bbb', port: 5432 },
];
const FROM = T0 / 1000;
const at = (seconds: number) => new Date((FROM + seconds) * 1000);

describe('reading the nodes’ metrics', () => {
  it('asks CloudWatch for each node and metric in CloudSeed’s namespace, and answers a point per step', async () => {
    cloudwatchMock
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [{ Id: 'm0_0', Timestamps: [at(0), at(60)], Values: [12.5, 14] }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'm0_0', Timestamps: [at(180)], Values: [30] },
          { Id: 'm1_1', Timestamps: [at(120)], Values: [7] },
        ],
      });
    const answer = await provider().metrics(target(), NODES, {
      names: ['cpu_percent', 'connections_active'],
      from: FROM,
      to: FROM + 300,
      step: 10,
    });

    // Ten seconds is shorter than CloudWatch keeps: the answer is in minutes, and says so.
    expect(answer).toMatchObject({ from: FROM, to: FROM + 300, step: 60 });
    expect(answer.nodes.map((node) => node.name)).toEqual(['db-0', 'db-1']);
    const [primary, replica] = answer.nodes;
    expect(primary!.series[0]).toEqual({
      name: 'cpu_percent',
      unit: 'percent',
      points: [
        [FROM, 12.5],
        [FROM + 60, 14],
        [FROM + 120, null],
        [FROM + 180, 30],
        [FROM + 240, null],
      ],
    });
    expect(replica!.series[1]!.points.map(([, value]) => value)).toEqual([null, null, 7, null, null]);
    expect(replica!.series[0]!.points.every(([, value]) => value === null)).toBe(true);

    const requests = inputs(cloudwatchMock.commandCalls(GetMetricDataCommand));
    expect(requests).toHaveLength(2);
    expect(requests[1]!.NextToken).toBe('page-2');
    expect({ ...requests[0], NextToken: undefined }).toEqual({
      MetricDataQueries: [
        ['m0_0', 'i-0aaa', 'cpu_percent'],
        ['m0_1', 'i-0aaa', 'connections_active'],
        ['m1_0', 'i-0bbb', 'cpu_percent'],
        ['m1_1', 'i-0bbb', 'connections_active'],
      ].map(([Id, instance, name]) => ({
        Id,
        MetricStat: {
          Metric: { Namespace: 'CloudSeed/PostgreSQL', MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: instance }] },
          Period: 60,
          Stat: 'Average',
        },
        ReturnData: true,
      })),
      StartTime: at(0),
      EndTime: at(300),
      ScanBy: 'TimestampAscending',
      NextToken: undefined,
    });
  });

  it('keeps a longer step, starting the range on one', async () => {
    cloudwatchMock.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const answer = await provider().metrics(target(), NODES.slice(0, 1), {
      names: ['disk_free_bytes'],
      from: FROM + 450,
      to: FROM + 3600,
      step: 300,
    });
    expect(answer).toMatchObject({ from: FROM + 300, step: 300 });
    expect(answer.nodes[0]!.series[0]!.points).toHaveLength(11);
    expect(inputs(cloudwatchMock.commandCalls(GetMetricDataCommand))[0]!.MetricDataQueries![0]!.MetricStat!.Period).toBe(300);
  });

  it('says what CloudWatch refused, as a permanent error', async () => {
    cloudwatchMock
      .on(GetMetricDataCommand)
      .rejects(
        new CloudWatchServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'not allowed' }),
      );
    await expect(provider().metrics(target(), NODES, { names: ['cpu_percent'], from: FROM, to: FROM + 60, step: 60 })).rejects.toMatchObject({
      name: 'PermanentError',
    });
  });
});

itSentOnlyListedActions(AWS_ACTIONS_PROVEN.metrics);
