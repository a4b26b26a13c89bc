import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogStream, OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { LogLine, LogSource } from '../../app-provider.ts';
import { awsErrorCode, call } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { LOG_PREFIXES, tagMap } from './names.ts';

// One log group per app, /cloudseed/apps/<plan>/<app>, kept 30 days: CodeBuild writes each build
// to a `build/<build uuid>` stream, ECS's awslogs driver each task to `release/…` (the release
// command) or `run/…` (the version that serves). The source of a line is its stream's prefix.

export const LOG_RETENTION_DAYS = 30;
/** Streams looked at for the newest lines: the newest build, release command and this many of the running tasks. */
const RUN_STREAMS = 3;
const RECENT_STREAMS = 50;
/** How many lines of a failed build, release command or task a failure's reason quotes. */
export const FAILURE_TAIL = 20;

export async function ensureLogGroup(context: AppContext): Promise<void> {
  const { logs } = context.clients;
  const logGroupName = context.names.logGroup;
  try {
    await call('logs:CreateLogGroup', () => logs.send(new CreateLogGroupCommand({ logGroupName, tags: tagMap(context.target) })));
  } catch (error) {
    if (awsErrorCode(error) !== 'ResourceAlreadyExistsException') throw error;
  }
  await call('logs:PutRetentionPolicy', () => logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays: LOG_RETENTION_DAYS })));
}

export async function removeLogGroup(context: AppContext): Promise<void> {
  const { logs } = context.clients;
  try {
    await call('logs:DeleteLogGroup', () => logs.send(new DeleteLogGroupCommand({ logGroupName: context.names.logGroup })));
  } catch (error) {
    if (awsErrorCode(error) !== 'ResourceNotFoundException') throw error;
  }
}

/** The newest `limit` lines of one stream, oldest first; none when the group or stream is gone. */
export async function streamTail(context: AppContext, logGroupName: string, logStreamName: string, limit: number): Promise<string[]> {
  const events = await streamEvents(context, logGroupName, logStreamName, limit);
  return events.map((event) => (event.message ?? '').replace(/\s+$/, ''));
}

/** The newest lines of the app's builds, release commands and running version, oldest first. */
export async function appLogs(context: AppContext, tail: number): Promise<LogLine[]> {
  if (tail <= 0) return [];
  const { logs } = context.clients;
  const logGroupName = context.names.logGroup;
  let streams: LogStream[];
  try {
    // Ordering by event time rules out a name prefix, so the newest streams are sorted out here.
    const output = await call('logs:DescribeLogStreams', () =>
      logs.send(new DescribeLogStreamsCommand({ logGroupName, orderBy: 'LastEventTime', descending: true, limit: RECENT_STREAMS })),
    );
    streams = output.logStreams ?? [];
  } catch (error) {
    if (awsErrorCode(error) === 'ResourceNotFoundException') return [];
    throw error;
  }
  const chosen: { name: string; source: LogSource }[] = [];
  const counts: Record<LogSource, number> = { build: 0, release: 0, run: 0 };
  const wanted: Record<LogSource, number> = { build: 1, release: 1, run: RUN_STREAMS };
  for (const stream of streams) {
    const source = sourceOf(stream.logStreamName);
    if (!source || counts[source] >= wanted[source]) continue;
    counts[source] += 1;
    chosen.push({ name: stream.logStreamName!, source });
  }
  const lines = (
    await Promise.all(
      chosen.map(async ({ name, source }) =>
        (await streamEvents(context, logGroupName, name, tail)).map((event) => ({
          timestamp: event.timestamp ?? 0,
          line: { time: new Date(event.timestamp ?? 0).toISOString(), source, text: (event.message ?? '').replace(/\s+$/, '') },
        })),
      ),
    )
  ).flat();
  // A stable sort: lines of one stream with the same millisecond keep their order.
  lines.sort((a, b) => a.timestamp - b.timestamp);
  return lines.slice(-tail).map(({ line }) => line);
}

function sourceOf(streamName: string | undefined): LogSource | undefined {
  const prefix = streamName?.split('/')[0];
  return (Object.keys(LOG_PREFIXES) as LogSource[]).find((source) => LOG_PREFIXES[source] === prefix);
}

async function streamEvents(context: AppContext, logGroupName: string, logStreamName: string, limit: number): Promise<OutputLogEvent[]> {
  const { logs } = context.clients;
  try {
    const output = await call('logs:GetLogEvents', () =>
      logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, limit, startFromHead: false })),
    );
    return output.events ?? [];
  } catch (error) {
    if (awsErrorCode(error) === 'ResourceNotFoundException') return [];
    throw error;
  }
}

/** `reason`, then the lines under it, indented, when there are any. */
export function withTail(reason: string, lines: readonly string[], what: string): string {
  if (lines.length === 0) return reason;
  return `${reason}\n${what}:\n${lines.map((line) => `  ${line}`).join('\n')}`;
}
