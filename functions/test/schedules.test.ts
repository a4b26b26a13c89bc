import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type * as Schedules from '../lib/schedules.ts';

// The backup schedules as EventBridge Scheduler receives them: exact inputs, update-or-create.

const scheduler = mockClient(SchedulerClient);
type Schedules = typeof Schedules;
let schedules: Schedules;

beforeAll(async () => {
  Object.assign(process.env, {
    BACKUP_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:111122223333:stateMachine:cloudseed-backup',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/cloudseed-scheduler',
    AWS_REGION: 'eu-west-1',
  });
  delete process.env.SCHEDULER_ENDPOINT;
  schedules = await import('../lib/schedules.ts');
});

beforeEach(() => {
  scheduler.reset();
});

const schedule = {
  ownerId: 'owner-1',
  planId: '0b7c9a52-3f1e-4c55-9a51-2f8e1e0c2d11',
  componentId: 'db',
  cron: '30 2 * * 1-5',
  timezone: 'Europe/Berlin',
};
const expected = {
  Name: 'cloudseed-backup-0b7c9a52-3f1e-4c55-9a51-2f8e1e0c2d11-db',
  GroupName: 'cloudseed-backups',
  ScheduleExpression: 'cron(30 2 ? * MON-FRI *)',
  ScheduleExpressionTimezone: 'Europe/Berlin',
  FlexibleTimeWindow: { Mode: 'OFF' },
  State: 'ENABLED',
  Target: {
    Arn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:cloudseed-backup',
    RoleArn: 'arn:aws:iam::111122223333:role/cloudseed-scheduler',
    Input: JSON.stringify({ ownerId: 'owner-1', planId: '0b7c9a52-3f1e-4c55-9a51-2f8e1e0c2d11', componentId: 'db', trigger: 'schedule' }),
  },
};

describe('backup schedules', () => {
  it('update an existing schedule in place', async () => {
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:111122223333:schedule/cloudseed-backups/x' });
    await schedules.putBackupSchedule(schedule);
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input)).toEqual([expected]);
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });

  it('create the schedule when there is none yet', async () => {
    scheduler.on(UpdateScheduleCommand).rejects(new ResourceNotFoundException({ message: 'not found', Message: 'not found', $metadata: {} }));
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:111122223333:schedule/cloudseed-backups/x' });
    await schedules.putBackupSchedule(schedule);
    expect(scheduler.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input)).toEqual([expected]);
  });

  it('surface other errors instead of creating', async () => {
    scheduler.on(UpdateScheduleCommand).rejects(new ConflictException({ message: 'busy', Message: 'busy', $metadata: {} }));
    await expect(schedules.putBackupSchedule(schedule)).rejects.toBeInstanceOf(ConflictException);
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });

  it('create the incrementals between as a schedule of their own, half an hour off the daily one', async () => {
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:eu-west-1:111122223333:schedule/cloudseed-backups/x' });
    await schedules.putBackupSchedule({ ...schedule, cron: schedules.incrementalCron(schedule.cron, 4), trigger: 'incremental' });
    expect(scheduler.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input)).toEqual([
      {
        ...expected,
        Name: 'cloudseed-incr-0b7c9a52-3f1e-4c55-9a51-2f8e1e0c2d11-db',
        ScheduleExpression: 'cron(0 */4 * * ? *)',
        Target: { ...expected.Target, Input: expected.Target.Input.replace('"trigger":"schedule"', '"trigger":"incremental"') },
      },
    ]);
    expect(schedules.incrementalCron('0 3 * * *', 6)).toBe('30 */6 * * *');
    expect(schedules.incrementalCron('@daily', 12)).toBe('30 */12 * * *');
  });

  it('delete both schedules, or one, and treat one already gone as deleted', async () => {
    scheduler
      .on(DeleteScheduleCommand)
      .resolvesOnce({})
      .rejectsOnce(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }))
      .rejectsOnce(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }));
    await schedules.deleteBackupSchedule(schedule.planId, 'db');
    await schedules.deleteBackupSchedule(schedule.planId, 'db', 'schedule');
    const incremental = 'cloudseed-incr-0b7c9a52-3f1e-4c55-9a51-2f8e1e0c2d11-db';
    expect(scheduler.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: expected.Name, GroupName: 'cloudseed-backups' },
      { Name: incremental, GroupName: 'cloudseed-backups' },
      { Name: expected.Name, GroupName: 'cloudseed-backups' },
    ]);
  });

  it("keep schedule names within EventBridge's 64 characters and distinct per component", () => {
    const first = schedules.scheduleName(schedule.planId, 'database-primary-eu-west-one-a');
    const second = schedules.scheduleName(schedule.planId, 'database-primary-eu-west-one-b');
    expect(first.length).toBeLessThanOrEqual(64);
    expect(second.length).toBeLessThanOrEqual(64);
    expect(first).not.toBe(second);
    expect(schedules.scheduleName(schedule.planId, 'db')).toBe(expected.Name);
  });
});
