import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { createHash } from 'node:crypto';
import { toScheduleExpression } from '@cloudseed/shared/cs-json/cron';

// EventBridge Scheduler schedules per deployed component with backups on, starting the backup
// workflow: the daily one (trigger `schedule`: a full or a differential) and, when the plan asks
// for them, the incrementals between (trigger `incremental`). Locally the same calls reach the
// local cloud's Scheduler stand-in.

const endpoint = process.env.SCHEDULER_ENDPOINT;
const client = new SchedulerClient(endpoint ? { endpoint } : {});
const GROUP = process.env.SCHEDULE_GROUP ?? 'cloudseed-backups';

export interface BackupSchedule {
  readonly ownerId: string;
  readonly planId: string;
  readonly componentId: string;
  readonly cron: string;
  readonly timezone: string;
  readonly trigger?: ScheduleTrigger;
}

export type ScheduleTrigger = 'schedule' | 'incremental';
const PREFIXES: Record<ScheduleTrigger, string> = { schedule: 'cloudseed-backup-', incremental: 'cloudseed-incr-' };

/** `cloudseed-backup-<plan>-<component>` (`cloudseed-incr-` for incrementals); a component id too long for Scheduler's 64 characters is replaced by its hash. */
export function scheduleName(planId: string, componentId: string, trigger: ScheduleTrigger = 'schedule'): string {
  const prefix = `${PREFIXES[trigger]}${planId}-`;
  const name = `${prefix}${componentId}`;
  if (name.length <= 64) return name;
  return `${prefix}${createHash('sha256')
    .update(componentId)
    .digest('hex')
    .slice(0, 64 - prefix.length)}`;
}

/**
 * Every `hours` hours, half an hour off the daily backup's minute (when it names one), so that an
 * incremental does not take the lock the daily backup needs at the same minute.
 */
export function incrementalCron(dailyCron: string, hours: number): string {
  const minute = Number(dailyCron.split(' ')[0]);
  return `${Number.isInteger(minute) ? (minute + 30) % 60 : 30} */${hours} * * *`;
}

/** Creates or updates the component's backup schedule. */
export async function putBackupSchedule(schedule: BackupSchedule): Promise<void> {
  const trigger = schedule.trigger ?? 'schedule';
  const input = {
    Name: scheduleName(schedule.planId, schedule.componentId, trigger),
    GroupName: GROUP,
    ScheduleExpression: toScheduleExpression(schedule.cron),
    ScheduleExpressionTimezone: schedule.timezone,
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    State: 'ENABLED' as const,
    Target: {
      Arn: required('BACKUP_STATE_MACHINE_ARN'),
      RoleArn: process.env.SCHEDULER_ROLE_ARN ?? 'arn:aws:iam::000000000000:role/local-scheduler',
      Input: JSON.stringify({ ownerId: schedule.ownerId, planId: schedule.planId, componentId: schedule.componentId, trigger }),
    },
  };
  try {
    await client.send(new UpdateScheduleCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateScheduleCommand(input));
  }
}

/** Removes the component's schedule of that trigger; without one, both. */
export async function deleteBackupSchedule(planId: string, componentId: string, trigger?: ScheduleTrigger): Promise<void> {
  for (const each of trigger ? [trigger] : (['schedule', 'incremental'] as const)) {
    try {
      await client.send(new DeleteScheduleCommand({ Name: scheduleName(planId, componentId, each), GroupName: GROUP }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}
