import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Cron } from 'croner';
import type { LocalCredentials } from './aws.ts';
import { ServiceError, startJsonService } from './json-service.ts';
import { log } from './log.ts';
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

  const notFound = (name: string) => new ServiceError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
  const service = await startJsonService(
    { name: 'the Scheduler stand-in', errorBody: (error) => ({ Message: error.message }) },
    async ({ method, url, body: requestBody }) => {
      const name = decodeURIComponent(/^\/schedules\/([^/]+)$/.exec(url.pathname)?.[1] ?? '');
      if (!name) throw new ServiceError('ResourceNotFoundException', 'unknown operation', 404);
      const body = requestBody as Partial<Schedule>;
      const groupName = body.GroupName ?? url.searchParams.get('groupName') ?? 'default';
      const id = key(groupName, name);
      const existing = schedules.get(id);
      const arn = `arn:aws:scheduler:${region}:000000000000:schedule/${groupName}/${name}`;
      if (method === 'GET') {
        if (!existing) throw notFound(name);
        return { body: { ...existing, Arn: arn } };
      }
      if (method === 'DELETE') {
        if (!existing) throw notFound(name);
        jobs.get(id)?.stop();
        jobs.delete(id);
        schedules.delete(id);
        await persist();
        return { body: {} };
      }
      if (method === 'POST' && existing) throw new ServiceError('ConflictException', `Schedule ${name} already exists.`, 409);
      if (method === 'PUT' && !existing) throw notFound(name);
      if (!body.ScheduleExpression || !body.Target?.Arn) throw new ServiceError('ValidationException', 'ScheduleExpression and Target are required');
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
        throw new ServiceError('ValidationException', (error as Error).message);
      }
      schedules.set(id, schedule);
      arm(schedule);
      await persist();
      return { body: { ScheduleArn: arn } };
    },
  );

  return {
    endpoint: service.endpoint,
    close: async () => {
      for (const job of jobs.values()) job.stop();
      await service.close();
    },
  };
}
