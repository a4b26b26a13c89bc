import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Cron } from 'croner';
import type { LocalCredentials } from './aws.ts';
import { browserRefusal, refuse } from './browser-guard.ts';
import { log } from './log.ts';
import { LOOPBACK, origin } from './ports.ts';
import { readJsonIfExists, writeJsonAtomic } from '@cloudseed/functions/providers/local/files';

// An EventBridge Scheduler stand-in: CreateSchedule, UpdateSchedule, GetSchedule and
// DeleteSchedule over the SDK's REST API, with croner firing each schedule's target — a state
// machine, started on the local Step Functions stand-in. Schedules are kept in
// CLOUDSEED_HOME/schedules.json, so a restart brings them back.

interface Schedule {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  State?: string;
  Target: { Arn: string; RoleArn?: string; Input?: string };
}

export interface LocalScheduler {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** EventBridge's cron(min hour dom month dow year) as the 5 fields croner reads. */
export function cronFields(expression: string): string {
  const match = /^cron\((.+)\)$/.exec(expression.trim());
  const fields = match?.[1]?.split(/\s+/) ?? [];
  if (fields.length !== 6) throw new Error(`unsupported schedule expression ${expression}`);
  return fields
    .slice(0, 5)
    .map((field) => (field === '?' ? '*' : field))
    .join(' ');
}

export async function startScheduler(
  home: string,
  region: string,
  stepFunctionsEndpoint: string,
  credentials: LocalCredentials,
): Promise<LocalScheduler> {
  const file = join(home, 'schedules.json');
  await mkdir(home, { recursive: true });
  const schedules = new Map<string, Schedule>();
  const jobs = new Map<string, Cron>();
  const sfn = new SFNClient({ endpoint: stepFunctionsEndpoint, region, credentials });

  const key = (group: string, name: string) => `${group}/${name}`;
  const arm = (schedule: Schedule) => {
    const id = key(schedule.GroupName, schedule.Name);
    jobs.get(id)?.stop();
    jobs.delete(id);
    if (schedule.State === 'DISABLED') return;
    jobs.set(
      id,
      new Cron(cronFields(schedule.ScheduleExpression), { timezone: schedule.ScheduleExpressionTimezone ?? 'UTC', protect: true }, () => {
        sfn
          .send(new StartExecutionCommand({ stateMachineArn: schedule.Target.Arn, input: schedule.Target.Input ?? '{}' }))
          .catch((error: unknown) => {
            log.error(`schedule ${id} could not start its target`, error);
          });
      }),
    );
  };
  const persist = () => writeJsonAtomic(file, [...schedules.values()]);

  for (const schedule of ((await readJsonIfExists(file)) ?? []) as Schedule[]) {
    schedules.set(key(schedule.GroupName, schedule.Name), schedule);
    arm(schedule);
  }

  const server = createServer((request, response) => {
    const refusal = browserRefusal(request.headers);
    if (refusal !== undefined) {
      refuse(response, refusal);
      return;
    }
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    const name = decodeURIComponent(/^\/schedules\/([^/]+)$/.exec(url.pathname)?.[1] ?? '');
    const group = url.searchParams.get('groupName') ?? 'default';
    const reply = (status: number, body: unknown, errorType?: string) => {
      response.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
      response.end(JSON.stringify(body));
    };
    try {
      if (!name) return reply(404, { Message: 'unknown operation' }, 'ResourceNotFoundException');
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<Schedule>) : {};
      const groupName = body.GroupName ?? group;
      const id = key(groupName, name);
      const existing = schedules.get(id);
      const arn = `arn:aws:scheduler:${region}:000000000000:schedule/${groupName}/${name}`;
      if (request.method === 'GET') {
        if (!existing) return reply(404, { Message: `Schedule ${name} does not exist.` }, 'ResourceNotFoundException');
        return reply(200, { ...existing, Arn: arn });
      }
      if (request.method === 'DELETE') {
        if (!existing) return reply(404, { Message: `Schedule ${name} does not exist.` }, 'ResourceNotFoundException');
        jobs.get(id)?.stop();
        jobs.delete(id);
        schedules.delete(id);
        await persist();
        return reply(200, {});
      }
      if (request.method === 'POST' && existing) return reply(409, { Message: `Schedule ${name} already exists.` }, 'ConflictException');
      if (request.method === 'PUT' && !existing) return reply(404, { Message: `Schedule ${name} does not exist.` }, 'ResourceNotFoundException');
      if (!body.ScheduleExpression || !body.Target?.Arn)
        return reply(400, { Message: 'ScheduleExpression and Target are required' }, 'ValidationException');
      const schedule: Schedule = {
        Name: name,
        GroupName: groupName,
        ScheduleExpression: body.ScheduleExpression,
        ...(body.ScheduleExpressionTimezone ? { ScheduleExpressionTimezone: body.ScheduleExpressionTimezone } : {}),
        ...(body.State ? { State: body.State } : {}),
        Target: body.Target,
      };
      try {
        cronFields(schedule.ScheduleExpression);
      } catch (error) {
        return reply(400, { Message: (error as Error).message }, 'ValidationException');
      }
      schedules.set(id, schedule);
      arm(schedule);
      await persist();
      return reply(200, { ScheduleArn: arn });
    } catch (error) {
      log.error('Scheduler stand-in failed', error);
      return reply(500, { Message: 'internal error' }, 'InternalServerException');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the Scheduler stand-in has no port');
  return {
    endpoint: origin(LOOPBACK, address.port),
    close: async () => {
      for (const job of jobs.values()) job.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
