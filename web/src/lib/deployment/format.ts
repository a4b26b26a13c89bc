import { connectionUri } from '@cloudseed/shared/deployments/connection';
import type { Deployment, DeploymentStep } from '../api/types.ts';
import { ApiError, SignedOut } from '../api/client.ts';

// How the deployment view words things: step names, durations, sizes, times, schedules, reasons.

/** The workflow's Task states (state-machines/*.asl.json) as a customer reads them. */
const STEP_LABELS: Readonly<Record<string, string>> = {
  // deploy.asl.json
  Render: 'Prepare the plan',
  Preflight: 'Preflight checks',
  EnsurePassword: 'Generate the database password',
  EnsureSecurityGroup: 'Open network access',
  LaunchNodes: 'Launch servers',
  CheckNodes: 'Wait for servers',
  SendInstall: 'Start the PostgreSQL install',
  CheckInstall: 'Install PostgreSQL',
  SendConfigure: 'Start configuring',
  CheckConfigure: 'Tune and secure PostgreSQL',
  Verify: 'Verify a TLS connection',
  RegisterMonitoring: 'Enrol health checks and backups',
  MarkRunning: 'Mark as running',
  Compensate: 'Clean up after the failure',
  RecordFailure: 'Record the failure',
  // teardown.asl.json
  Destroy: 'Remove servers, network rules and secrets',
  DeletePlan: 'Delete the plan',
  RecordTeardownFailure: 'Record the failure',
  // restore.asl.json
  RestoreBackup: 'Restore the backup',
  RestoreToPoint: 'Restore to the point in time',
  RebuildReplicas: 'Rebuild replicas',
  FinishRestore: 'Finish the restore',
  StartFullBackup: 'Start a full backup',
  // stop.asl.json
  StopNodes: 'Stop the servers',
  MarkStopped: 'Mark as stopped',
  // backup.asl.json and the other places a failure can come from
  StartBackup: 'Start the backup',
  DumpBackup: 'Dump the database',
  ValidateBackup: 'Validate the backup',
  ApplyRetention: 'Apply retention',
  FinishBackup: 'Finish the backup',
  RecordBackupFailure: 'Record the backup failure',
  HealthCheck: 'Health check',
  StartExecution: 'Start the workflow',
  workflow: 'Workflow',
};

/** Every deploy's steps; a start is one too (the deployed plan run again: its servers started, then configured again). */
const DEPLOY_STEPS: readonly string[] = [
  'Render',
  'Preflight',
  'EnsurePassword',
  'EnsureSecurityGroup',
  'LaunchNodes',
  'CheckNodes',
  'SendInstall',
  'CheckInstall',
  'SendConfigure',
  'CheckConfigure',
  'Verify',
  'RegisterMonitoring',
  'MarkRunning',
];

/** The steps a workflow of this kind goes through, in order: the ones not reached yet show as pending. */
const EXPECTED_STEPS: Readonly<Record<NonNullable<Deployment['mode']>, readonly string[]>> = {
  create: DEPLOY_STEPS,
  update: DEPLOY_STEPS,
  teardown: ['Render', 'Destroy', 'DeletePlan'],
  restore: ['RestoreToPoint', 'RebuildReplicas', 'FinishRestore', 'StartFullBackup'],
  stop: ['StopNodes', 'MarkStopped'],
  start: DEPLOY_STEPS,
};

/** A restore of a pg_dump export goes through fewer steps than one replaying the archive to a time. */
const LOGICAL_RESTORE_STEPS: readonly string[] = ['RestoreBackup', 'FinishRestore'];

export type StepState = DeploymentStep['status'] | 'pending';

/** A row of the timeline: a step the workflow reached, or one it has still to reach. */
export interface TimelineRow {
  readonly key: string;
  readonly label: string;
  readonly state: StepState;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly error?: string;
}

/** `CheckInstall` → "Install PostgreSQL"; `Preflight (db)` (one of several components) → "Preflight checks · db". */
export function stepLabel(name: string): string {
  const match = /^(\w+) \((.+)\)$/.exec(name);
  const state = match?.[1] ?? name;
  const label = STEP_LABELS[state] ?? splitWords(state);
  return match ? `${label} · ${match[2] ?? ''}` : label;
}

function splitWords(state: string): string {
  const words = state.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The steps reached so far and, while the workflow runs, the ones it has still to go through. */
export function timelineRows(deployment: Pick<Deployment, 'status' | 'mode' | 'steps'>): TimelineRow[] {
  const rows: TimelineRow[] = deployment.steps.map((step) => ({
    key: step.name,
    label: stepLabel(step.name),
    state: step.status,
    startedAt: step.startedAt,
    ...(step.endedAt ? { endedAt: step.endedAt } : {}),
    ...(step.error ? { error: step.error } : {}),
  }));
  const inProgress = ['deploying', 'stopping', 'starting', 'deleting'].includes(deployment.status);
  if (!inProgress || !deployment.mode) return rows;
  const reached = new Set(deployment.steps.map((step) => step.name.replace(/ \(.+\)$/, '')));
  const expected = deployment.mode === 'restore' && reached.has('RestoreBackup') ? LOGICAL_RESTORE_STEPS : EXPECTED_STEPS[deployment.mode];
  const last = Math.max(-1, ...[...reached].map((name) => expected.indexOf(name)));
  for (const name of expected.slice(last + 1)) rows.push({ key: `pending:${name}`, label: stepLabel(name), state: 'pending' });
  return rows;
}

/** 340 → "340 ms", 1234 → "1.2 s", 83000 → "1 min 23 s", 5400000 → "1 h 30 min". */
export function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 1000) return `${Math.round(clamped)} ms`;
  if (clamped < 60_000) return `${(Math.floor(clamped / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(clamped / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** How long a step took, or has been running until `now`; undefined when it has not started. */
export function stepDuration(row: Pick<TimelineRow, 'startedAt' | 'endedAt'>, now: number): number | undefined {
  if (!row.startedAt) return undefined;
  const end = row.endedAt ? Date.parse(row.endedAt) : now;
  return end - Date.parse(row.startedAt);
}

/** 847 → "847 B", 1536 → "1.5 KiB", 3.2e9 → "3.0 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? ''}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time as the user's locale writes it, e.g. "Nov 24, 2026, 9:49 AM". */
export function formatDateTime(iso: string, options: { readonly seconds?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return (options.seconds ? dateTimeSeconds : dateTime).format(date);
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** A log line's time of day, e.g. "09:49:05". */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : clock.format(date);
}

/** A commit as people quote it: its first 7 characters. */
export function shortCommit(version: string): string {
  return version.slice(0, 7);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "in 17 hours", "5 minutes ago". */
export function formatRelative(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(seconds, 'second');
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A backup schedule in words for the common cron shapes; undefined for the others (show the expression). */
export function describeSchedule(cron: string, timezone = 'UTC'): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return undefined;
  const [minute = '', hour = '', dayOfMonth = '', month = '', dayOfWeek = ''] = fields;
  const number = /^\d{1,2}$/;
  if (!number.test(minute)) return undefined;
  const mm = minute.padStart(2, '0');
  if (hour === '*' && dayOfMonth === '*' && month === '*' && dayOfWeek === '*') return `Every hour at :${mm}`;
  if (!number.test(hour) || month !== '*') return undefined;
  const at = `${hour.padStart(2, '0')}:${mm} ${timezone}`;
  if (dayOfMonth === '*' && dayOfWeek === '*') return `Every day at ${at}`;
  if (dayOfMonth === '*' && /^[0-7]$/.test(dayOfWeek)) return `Every ${WEEKDAYS[Number(dayOfWeek) % 7] ?? ''} at ${at}`;
  if (dayOfMonth === '*' && dayOfWeek === '1-5') return `Every weekday at ${at}`;
  if (number.test(dayOfMonth) && dayOfWeek === '*') return `Monthly on day ${dayOfMonth} at ${at}`;
  return undefined;
}

/** A failure reason split into the step it happened at (when the API names one) and what happened. */
export function readableReason(reason: string): { readonly step?: string; readonly text: string } {
  const match = /^(\w+(?: \([^)]+\))?): (.+)$/s.exec(reason);
  const state = match?.[1]?.replace(/ \(.+\)$/, '');
  if (!match?.[1] || !match[2] || state === undefined || !(state in STEP_LABELS)) return { text: reason };
  return { step: stepLabel(match[1]), text: match[2] };
}

/** `postgresql://user@host:port/db`: how to connect, without the password. */
/** The connection string without the password; it names the CA file the server is verified with. */
export function connectionString(endpoint: NonNullable<Deployment['endpoint']>, planId: string): string {
  return connectionUri(endpoint, planId);
}

/** The execution's page in the AWS console; the region is the execution's own when its ARN says. */
export function stepFunctionsConsoleUrl(executionArn: string, region: string | undefined): string | undefined {
  const arnRegion = /^arn:aws[\w-]*:states:([a-z0-9-]+):/.exec(executionArn)?.[1];
  const where = arnRegion && arnRegion !== 'local' ? arnRegion : region;
  if (!where) return undefined;
  return `https://${where}.console.aws.amazon.com/states/home?region=${where}#/v2/executions/details/${executionArn}`;
}

/** What went wrong with a request, in words for an alert. */
export function describeError(error: unknown, doing?: string): string {
  const prefix = doing ? `${doing} failed: ` : '';
  if (error instanceof ApiError) return `${prefix}${error.detail || error.title}`;
  if (error instanceof SignedOut) return error.message;
  if (error instanceof TypeError) return `${prefix}CloudSeed cannot be reached. Check your connection.`;
  return `${prefix}${error instanceof Error ? error.message : String(error)}`;
}
