import { flushSync } from 'svelte';
import { vi } from 'vitest';
import { DEFAULT_ALERT_SETTINGS } from '@cloudseed/shared/alerts/alerts';
import { METRICS } from '@cloudseed/shared/metrics/catalog';
import type {
  Backup,
  Credentials,
  DeployedComponent,
  Deployment,
  LogEntry,
  LogicalBackup,
  LogLine,
  MetricSeries,
  MetricsRequest,
  PhysicalBackup,
  PlanMetrics,
  TopQuery,
} from '../api/types.ts';
import type { DeploymentClient } from './deployment.svelte.ts';

// Test doubles for the deployment view: an API client whose answers a test sets, fixtures shaped
// like the local cloud's real answers, and what jsdom lacks (<dialog> modality, the clipboard).

export const PLAN_ID = '7532f938-6ed1-4f92-93c5-97d62b09162c';
export const T0 = Date.parse('2026-11-24T09:49:00.000Z');

export const at = (ms: number): string => new Date(T0 + ms).toISOString();

export function runningDeployment(changes: Partial<Deployment> = {}): Deployment {
  return {
    status: 'running',
    deploymentId: '2f2b6058-9cd2-4ba6-87d7-b3e58d2303d4',
    mode: 'create',
    startedAt: at(0),
    endedAt: at(2000),
    steps: [
      { name: 'Render', status: 'succeeded', startedAt: at(0), endedAt: at(17) },
      { name: 'Preflight', status: 'succeeded', startedAt: at(17), endedAt: at(38) },
      { name: 'SendConfigure', status: 'succeeded', startedAt: at(100), endedAt: at(1300) },
      { name: 'MarkRunning', status: 'succeeded', startedAt: at(1300), endedAt: at(1304) },
    ],
    endpoint: { host: '127.0.0.1', port: 36773, database: 'app', username: 'app' },
    nodes: [{ component: 'db', name: 'db-0', role: 'primary', host: '127.0.0.1', port: 36773, healthy: true }],
    backup: { schedule: '0 3 * * *', timezone: 'UTC', nextRunAt: '2026-11-25T03:00:00.000Z' },
    executionArn: 'arn:aws:states:local:000000000000:execution:cloudseed-deploy:2f2b6058-9cd2-4ba6-87d7-b3e58d2303d4',
    ...changes,
  };
}

export function deployingDeployment(changes: Partial<Deployment> = {}): Deployment {
  return {
    status: 'deploying',
    deploymentId: 'c0ffee00-0000-4000-8000-000000000001',
    mode: 'create',
    startedAt: at(0),
    steps: [
      { name: 'Render', status: 'succeeded', startedAt: at(0), endedAt: at(1200) },
      { name: 'Preflight', status: 'running', startedAt: at(1200) },
    ],
    ...changes,
  };
}

export function failedDeployment(): Deployment {
  return {
    status: 'failed',
    reason: 'Preflight: PostgreSQL 17 is not installed on this machine (installed: 15); choose 15 or install postgresql-17',
    deploymentId: 'cdf4a223-e4c4-487a-99e0-72ee66286d9b',
    mode: 'create',
    startedAt: at(0),
    endedAt: at(20),
    steps: [
      { name: 'Render', status: 'succeeded', startedAt: at(0), endedAt: at(3) },
      {
        name: 'Preflight',
        status: 'failed',
        startedAt: at(3),
        endedAt: at(6),
        error: 'PostgreSQL 17 is not installed on this machine (installed: 15); choose 15 or install postgresql-17',
      },
      { name: 'Compensate', status: 'succeeded', startedAt: at(6), endedAt: at(11) },
      { name: 'RecordFailure', status: 'succeeded', startedAt: at(11), endedAt: at(18) },
    ],
    backup: { schedule: '0 3 * * *', timezone: 'UTC', nextRunAt: '2026-11-25T03:00:00.000Z' },
  };
}

export const SERVING = '4f1c2d3e5a6b7c8d9e0f11223344556677889900';
export const REQUESTED = '9a8b7c6d5e4f30211223344556677889900aabbc';

/** A running plan of a database and the app that uses it. */
export function deploymentWithApp(app: Partial<DeployedComponent> = {}, changes: Partial<Deployment> = {}): Deployment {
  return runningDeployment({
    components: [
      { id: 'db', type: 'postgres', status: 'running' },
      {
        id: 'web',
        type: 'app',
        status: 'running',
        url: 'https://web-7532f938.apps.example.com',
        servingVersion: SERVING,
        requestedVersion: SERVING,
        ...app,
      },
    ],
    ...changes,
  });
}

/** An app's log tail, oldest first, as the local cloud answers it. */
export const LOG_LINES: readonly LogLine[] = [
  { time: at(1000), source: 'build', text: 'npm ci: added 112 packages' },
  { time: at(1500), source: 'build', text: 'npm run build: done' },
  { time: at(1800), source: 'release', text: 'migrations: 3 applied' },
  { time: at(2100), source: 'run', text: 'listening on :8080' },
];

/** A pg_dump export, as every backup was before continuous archiving. */
export function backup(changes: Partial<LogicalBackup> = {}): LogicalBackup {
  return {
    backupId: '20261124T094905Z-88300bce',
    component: 'db',
    trigger: 'manual',
    kind: 'logical',
    status: 'succeeded',
    startedAt: at(5000),
    finishedAt: at(6000),
    sizeBytes: 1536,
    durationMs: 113,
    validation: { status: 'passed', detail: '3 tables, 120 rows match' },
    ...changes,
  };
}

/** From the first backup's start to the last archived commit, as the local cloud answers. */
export const RECOVERY_WINDOW = { earliest: '2026-11-24T09:49:05.512Z', latest: '2026-11-24T09:49:45.000Z' } as const;

/** A pgBackRest backup set: full unless told otherwise. */
export function physicalBackup(changes: Partial<PhysicalBackup> = {}): PhysicalBackup {
  return {
    ...backup({ backupId: '20261124T094905Z-5e1f0a2b', sizeBytes: 3_355_443 }),
    type: 'full',
    label: '20261124-094905F',
    stoppedAt: at(6000),
    ...changes,
    kind: 'physical',
  };
}

export const CREDENTIALS: Credentials = {
  host: '127.0.0.1',
  port: 36773,
  database: 'app',
  username: 'app',
  password: 's3cret-Pa55word',
  uri: 'postgresql://app:s3cret-Pa55word@127.0.0.1:36773/app?sslmode=verify-full&sslrootcert=cloudseed-plan-1-ca.crt',
  caCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  caFileName: 'cloudseed-plan-1-ca.crt',
};

/** A client whose every method is a mock; `deployment` answers a running deployment unless told otherwise. */
export function fakeClient(deployment: Deployment = runningDeployment(), backups: readonly Backup[] = []) {
  return {
    deployment: vi.fn<DeploymentClient['deployment']>(() => Promise.resolve(deployment)),
    credentials: vi.fn<DeploymentClient['credentials']>(() => Promise.resolve(CREDENTIALS)),
    backups: vi.fn<DeploymentClient['backups']>(() => Promise.resolve(backups)),
    runBackup: vi.fn<DeploymentClient['runBackup']>(() => Promise.resolve({ backupId: '20261124T100000Z-00000001' })),
    restoreBackup: vi.fn<DeploymentClient['restoreBackup']>(() => Promise.resolve()),
    validateBackup: vi.fn<DeploymentClient['validateBackup']>(() => Promise.resolve()),
    backupDownload: vi.fn<DeploymentClient['backupDownload']>(() =>
      Promise.resolve({ url: 'http://127.0.0.1/backup.dump', expiresAt: at(900_000), format: 'pg_dump custom format (pg_restore)' }),
    ),
    recoveryWindow: vi.fn<DeploymentClient['recoveryWindow']>(() => Promise.resolve({ component: 'db', ...RECOVERY_WINDOW })),
    restoreToPoint: vi.fn<DeploymentClient['restoreToPoint']>((_planId, targetTime) =>
      Promise.resolve({ status: 'restoring', component: 'db', targetTime }),
    ),
    componentLogs: vi.fn<DeploymentClient['componentLogs']>(() => Promise.resolve({ lines: LOG_LINES })),
    rollback: vi.fn<DeploymentClient['rollback']>(() => Promise.resolve({ deploymentId: 'c0ffee00-0000-4000-8000-000000000002', mode: 'update' })),
    putSecrets: vi.fn<DeploymentClient['putSecrets']>((_id, _componentId, values) => Promise.resolve({ names: Object.keys(values).sort() })),
    metrics: vi.fn<DeploymentClient['metrics']>((_id, request) => Promise.resolve(metricsOf(request))),
    topQueries: vi.fn<DeploymentClient['topQueries']>(() => Promise.resolve({ component: 'db', queries: TOP_QUERIES })),
    resetQueries: vi.fn<DeploymentClient['resetQueries']>(() => Promise.resolve()),
    serverLog: vi.fn<DeploymentClient['serverLog']>((_id, _component, request) =>
      Promise.resolve({
        component: 'db',
        node: request.node ?? 'db-0',
        nodes: ['db-0', 'db-1'],
        entries: SERVER_LOG.filter((entry) => !request.search || entry.text.toLowerCase().includes(request.search.toLowerCase())),
      }),
    ),
    alerts: vi.fn<DeploymentClient['alerts']>(() => Promise.resolve({ settings: DEFAULT_ALERT_SETTINGS, firing: [], cleared: [] })),
    putAlertSettings: vi.fn<DeploymentClient['putAlertSettings']>((_id, settings) => Promise.resolve(settings)),
    stopPlan: vi.fn<DeploymentClient['stopPlan']>(() => Promise.resolve()),
    startPlan: vi.fn<DeploymentClient['startPlan']>(() => Promise.resolve()),
    rolePassword: vi.fn<DeploymentClient['rolePassword']>((_id, role) =>
      Promise.resolve({
        component: 'db',
        role,
        access: 'readonly',
        password: 'Q7kz9TqW2mXa4LrB8vNc3HsJ6yPd5GfE',
        databases: ['app', 'analytics'],
        uri: `postgresql://${role}:Q7kz9TqW2mXa4LrB8vNc3HsJ6yPd5GfE@127.0.0.1:54321/app?sslmode=verify-full&sslrootcert=cloudseed-ca.crt`,
      }),
    ),
  } satisfies DeploymentClient;
}

/** Two nodes' answers to a metrics request: a primary whose CPU climbs 1 % a step, a replica at 5 %; the first half of the range empty. */
export function metricsOf(request: MetricsRequest): PlanMetrics {
  const steps = Math.ceil((request.to - request.from) / request.step);
  const seriesOf = (value: (index: number) => number): MetricSeries[] =>
    request.names.map((name) => ({
      name: name as MetricSeries['name'],
      unit: METRICS[name as MetricSeries['name']].unit,
      points: Array.from({ length: steps }, (_, index): [number, number | null] => [
        request.from + index * request.step,
        index < steps / 2 ? null : name === 'connections_max' ? 100 : value(index),
      ]),
    }));
  return {
    from: request.from,
    to: request.to,
    step: request.step,
    components: [
      {
        id: 'db',
        nodes: [
          { name: 'db-0', role: 'primary', series: seriesOf((index) => index) },
          { name: 'db-1', role: 'replica', series: seriesOf(() => 5) },
        ],
      },
    ],
  };
}

export const TOP_QUERIES: TopQuery[] = [
  {
    queryId: '-101',
    query: 'SELECT * FROM orders WHERE id = $1',
    calls: 1200,
    totalTimeMs: 2400.5,
    meanTimeMs: 2,
    rows: 1200,
    sharedBlocksHit: 990,
    sharedBlocksRead: 10,
  },
  {
    queryId: '202',
    query: 'UPDATE stock SET n = n - $1',
    calls: 40,
    totalTimeMs: 80,
    meanTimeMs: 2,
    rows: 40,
    sharedBlocksHit: 0,
    sharedBlocksRead: 0,
  },
];

export const SERVER_LOG: LogEntry[] = [
  { time: '2026-11-24T10:00:00.000Z', pid: 10, level: 'LOG', text: 'database system is ready to accept connections' },
  {
    time: '2026-11-24T10:00:05.000Z',
    pid: 11,
    level: 'LOG',
    user: 'app',
    database: 'app',
    text: 'duration: 1500.250 ms  statement: SELECT pg_sleep(1.5)',
    durationMs: 1500.25,
  },
  {
    time: '2026-11-24T10:00:06.000Z',
    pid: 11,
    level: 'ERROR',
    user: 'app',
    database: 'app',
    text: 'role "nobody" does not exist\nSTATEMENT:  ALTER ROLE nobody PASSWORD \'********\'',
  },
];

/** Lets answered promises land and Svelte render what they changed. */
export async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await vi.advanceTimersByTimeAsync(0);
  flushSync();
}

/** jsdom has <dialog> without showModal/close: enough of them for the dialog's logic. */
export function polyfillDialog(): void {
  const proto = HTMLDialogElement.prototype as HTMLDialogElement & { showModal: () => void; close: () => void };
  proto.showModal = function (this: HTMLDialogElement) {
    this.setAttribute('open', '');
  };
  proto.close = function (this: HTMLDialogElement) {
    this.removeAttribute('open');
  };
  if (!('open' in proto)) {
    Object.defineProperty(proto, 'open', {
      configurable: true,
      get(this: HTMLDialogElement) {
        return this.hasAttribute('open');
      },
    });
  }
}

export function fakeClipboard() {
  const writeText = vi.fn<(text: string) => Promise<void>>(() => Promise.resolve());
  Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
  return writeText;
}
