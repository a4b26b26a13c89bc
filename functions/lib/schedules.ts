import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { createHash } from 'node:crypto';
import { toScheduleExpression } from '@cloudseed/shared/cs-json/cron';

// One EventBridge Scheduler schedule per deployed component with backups on, starting the backup
// workflow. Locally the same calls reach the local cloud's Scheduler stand-in.

const endpoint = process.env.SCHEDULER_ENDPOINT;
const client = new SchedulerClient(endpoint ? { endpoint } : {});
const GROUP = process.env.SCHEDULE_GROUP ?? 'cloudseed-backups';

export interface BackupSchedule {
  readonly ownerId: string;
  readonly planId: string;
  readonly componentId: string;
  readonly cron: string;
  readonly timezone: string;
}

/** `cloudseed-backup-<plan>-<component>`; a component id too long for Scheduler's 64 characters is replaced by its hash. */
export function scheduleName(planId: string, componentId: string): string {
  const name = `cloudseed-backup-${planId}-${componentId}`;
  if (name.length <= 64) return name;
  const room = 64 - `cloudseed-backup-${planId}-`.length;
  return `cloudseed-backup-${planId}-${createHash('sha256').update(componentId).digest('hex').slice(0, room)}`;
}

/** Creates or updates the component's backup schedule. */
export async function putBackupSchedule(schedule: BackupSchedule): Promise<void> {
  const input = {
    Name: scheduleName(schedule.planId, schedule.componentId),
    GroupName: GROUP,
    ScheduleExpression: toScheduleExpression(schedule.cron),
    ScheduleExpressionTimezone: schedule.timezone,
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    State: 'ENABLED' as const,
    Target: {
      Arn: required('BACKUP_STATE_MACHINE_ARN'),
      RoleArn: process.env.SCHEDULER_ROLE_ARN ?? 'arn:aws:iam::000000000000:role/local-scheduler',
      Input: JSON.stringify({ ownerId: schedule.ownerId, planId: schedule.planId, componentId: schedule.componentId, trigger: 'schedule' }),
    },
  };
  try {
    await client.send(new UpdateScheduleCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateScheduleCommand(input));
  }
}

export async function deleteBackupSchedule(planId: string, componentId: string): Promise<void> {
  try {
    await client.send(new DeleteScheduleCommand({ Name: scheduleName(planId, componentId), GroupName: GROUP }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}
