import { readFile } from 'node:fs/promises';
import { consumeFault } from '@cloudseed/functions/providers/local/faults';
import { stepModules } from '@cloudseed/functions/steps/index';
import { StepError } from '@cloudseed/functions/steps/step';
import type { LocalCredentials } from './aws.ts';
import { log } from './log.ts';
import { HEARTBEAT_SECONDS } from '@cloudseed/shared/postgres/pgbackrest';
import { BACKUP_BUCKET, startS3 } from './s3.ts';
import type { LocalS3 } from './s3.ts';
import { startScheduler } from './scheduler.ts';
import type { LocalScheduler } from './scheduler.ts';
import { startStepFunctions } from './stepfunctions.ts';
import type { LocalStepFunctions, TaskHandler } from './stepfunctions.ts';

// The local cloud's workflows: the deploy and teardown state machines on the Step Functions
// stand-in, their Task states running the step modules; the health check, the metrics collector
// and the alert rules on timers; and the PostgreSQL servers of earlier deployments started again
// (and stopped with the cloud).

const HEALTH_INTERVAL_MS = Number(process.env.CLOUDSEED_HEALTH_INTERVAL_MS ?? 2000);
const SUPERVISE_INTERVAL_MS = 5000;
/** How often alert rules are evaluated (CLOUDSEED_ALERTS_INTERVAL_MS overrides; tests use 1 s). */
const ALERTS_INTERVAL_MS = 30_000;
const CRASH_WATCH_INTERVAL_MS = 1000;
const LOCAL_WAIT_MS = 20;

export interface LocalWorkflows {
  readonly stepFunctions: LocalStepFunctions;
  readonly scheduler: LocalScheduler;
  readonly s3: LocalS3;
  close(): Promise<void>;
}

/** Everything the handlers need to reach the workflows, schedules and objects, set before any handler module loads. */
export function workflowEnvironment(workflows: LocalWorkflows): Record<string, string> {
  const { stepFunctions } = workflows;
  return {
    STEPFUNCTIONS_ENDPOINT: stepFunctions.endpoint,
    DEPLOY_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('deploy'),
    TEARDOWN_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('teardown'),
    BACKUP_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('backup'),
    RESTORE_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('restore'),
    STOP_STATE_MACHINE_ARN: stepFunctions.stateMachineArn('stop'),
    SCHEDULER_ENDPOINT: workflows.scheduler.endpoint,
    S3_ENDPOINT: workflows.s3.endpoint,
    BACKUP_BUCKET,
    // pgBackRest's repository: the same bucket, over TLS.
    ARCHIVE_S3_HOST: workflows.s3.tls.host,
    ARCHIVE_S3_PORT: String(workflows.s3.tls.port),
    ARCHIVE_S3_CA_FILE: workflows.s3.tls.caFile,
  };
}

async function definition(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`../../state-machines/${name}.asl.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** Starts the Step Functions stand-in; the step modules load lazily, after the environment is set. */
export async function startWorkflows(home: string, region: string, credentials: LocalCredentials): Promise<LocalWorkflows> {
  const loaded = new Map<string, TaskHandler>();
  const handlerFor = (substitution: string): TaskHandler => {
    const module = stepModules[substitution as keyof typeof stepModules] as string | undefined;
    if (!module) throw new Error(`no step module for \${${substitution}}`);
    return async (input) => {
      let handler = loaded.get(substitution);
      if (!handler) {
        handler = ((await import(new URL(`../../functions/${module}`, import.meta.url).href)) as { handler: TaskHandler }).handler;
        loaded.set(substitution, handler);
      }
      return handler(input);
    };
  };
  const stepFunctions = await startStepFunctions({
    home,
    region,
    workflows: [
      { name: 'deploy', definition: await definition('deploy') },
      { name: 'teardown', definition: await definition('teardown') },
      { name: 'backup', definition: await definition('backup') },
      { name: 'restore', definition: await definition('restore') },
      { name: 'stop', definition: await definition('stop') },
    ],
    handlerFor,
    beforeTask: (stateName) => {
      const reason = consumeFault(home, stateName);
      if (reason !== undefined) throw new StepError('TransientError', { step: stateName, reason });
    },
    waitMs: LOCAL_WAIT_MS,
  });
  const [scheduler, s3] = await Promise.all([startScheduler(home, region, stepFunctions.endpoint, credentials), startS3(home, credentials)]);
  return {
    stepFunctions,
    scheduler,
    s3,
    // S3 stays up: the servers archive their last WAL to it as they stop (start.ts closes it after them).
    close: async () => {
      await scheduler.close();
      await stepFunctions.close();
    },
  };
}

/**
 * Brings back the servers that ran before the last stop, turns deployments that a stop
 * interrupted red (their executions did not survive it), then checks health on a timer.
 */
export async function startInstances(home: string): Promise<{ stop(): Promise<void> }> {
  // Loaded here, after the environment is set: the provider builds its clients as it loads.
  const { beatAll, reviveLost, startExisting, stopAll, wakeCrashed } = await import('@cloudseed/functions/providers/local/lifecycle');
  for (const outcome of await startExisting(home)) {
    if (!outcome.ok) log.error(`could not restart ${outcome.planId}/${outcome.name}: ${outcome.error ?? 'unknown error'}`);
  }
  // Apps after their databases: what served when the local cloud stopped serves again, on its old port.
  const { localApps } = await import('@cloudseed/functions/providers/local/apps/local-apps');
  const apps = localApps(home);
  const resumed = await apps.resume();
  if (resumed > 0) log.debug(`started ${resumed} app${resumed === 1 ? '' : 's'} again`);
  const { deployments } = await import('@cloudseed/functions/lib/plans');
  for (const interrupted of await deployments.listByStatus(['deploying', 'deleting'])) {
    const at = new Date().toISOString();
    const reason = `the local cloud stopped while this ${interrupted.status === 'deleting' ? 'teardown' : 'deployment'} ran; run it again`;
    await deployments.update(interrupted.ownerId, interrupted.planId, interrupted.deploymentId, {
      status: 'failed',
      failure: { step: 'workflow', reason, at },
      endedAt: at,
    });
  }
  const { checkAll } = (await import('@cloudseed/functions/jobs/health-check')) as { checkAll: () => Promise<number> };
  let checking: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    checking = checking.then(checkAll).catch((error: unknown) => log.error('health check failed', error));
  }, HEALTH_INTERVAL_MS);
  timer.unref();
  let beating: Promise<unknown> = Promise.resolve();
  const heartbeat = setInterval(() => {
    beating = beating.then(() => beatAll(home)).catch((error: unknown) => log.error('heartbeat failed', error));
  }, HEARTBEAT_SECONDS * 1000);
  heartbeat.unref();
  // A cluster member whose Patroni died comes back, as a machine that reboots does.
  let reviving: Promise<unknown> = Promise.resolve();
  const supervisor = setInterval(() => {
    reviving = reviving
      .then(() => reviveLost(home))
      .then((revived) => {
        for (const entry of revived) log.warn(`cluster member ${entry}`);
      })
      .catch((error: unknown) => log.error('reviving cluster members failed', error));
  }, SUPERVISE_INTERVAL_MS);
  supervisor.unref();
  let waking: Promise<unknown> = Promise.resolve();
  const crashWatch = setInterval(() => {
    waking = waking.then(() => wakeCrashed(home)).catch((error: unknown) => log.error('waking Patroni failed', error));
  }, CRASH_WATCH_INTERVAL_MS);
  crashWatch.unref();
  // Every running server's metrics, into its ring under the home (the metrics API reads them there).
  const { LocalMetricsCollector, LOCAL_SAMPLE_SECONDS } = await import('@cloudseed/functions/providers/local/metrics');
  const collector = new LocalMetricsCollector(home);
  let sampling: Promise<unknown> = Promise.resolve();
  const metrics = setInterval(
    () => {
      sampling = sampling.then(() => collector.sampleAll()).catch((error: unknown) => log.error('sampling metrics failed', error));
    },
    Number(process.env.CLOUDSEED_METRICS_INTERVAL_MS ?? LOCAL_SAMPLE_SECONDS * 1000),
  );
  metrics.unref();
  // Every running deployment's alert rules, against those samples, its health and its last backup.
  const { evaluateAll } = (await import('@cloudseed/functions/jobs/alerts')) as { evaluateAll: () => Promise<number> };
  let evaluating: Promise<unknown> = Promise.resolve();
  const alerting = setInterval(
    () => {
      evaluating = evaluating.then(() => evaluateAll()).catch((error: unknown) => log.error('evaluating alerts failed', error));
    },
    Number(process.env.CLOUDSEED_ALERTS_INTERVAL_MS ?? ALERTS_INTERVAL_MS),
  );
  alerting.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      clearInterval(heartbeat);
      clearInterval(supervisor);
      clearInterval(crashWatch);
      clearInterval(metrics);
      clearInterval(alerting);
      await Promise.all([checking, beating, reviving, waking, sampling, evaluating]);
      await apps.stopAll();
      await stopAll(home);
    },
  };
}
