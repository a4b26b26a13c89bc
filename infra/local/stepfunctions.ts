import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { HistoryEvent } from '@cloudseed/shared';
import { ServiceError, startJsonService } from './json-service.ts';
import { log } from './log.ts';
import { writeJsonAtomic } from '@cloudseed/functions/providers/local/files';

// A Step Functions stand-in: StartExecution, DescribeExecution and GetExecutionHistory over the
// SDK's JSON protocol, running the same ASL files with aws-local-stepfunctions. Task states run
// the same step modules Lambda would. The history it answers has the shape AWS gives, so the API
// builds the steps timeline the same way in both clouds. Executions are kept under
// CLOUDSEED_HOME/executions; one that a stopped local cloud interrupted is recorded as failed.

export const LOCAL_ACCOUNT = '000000000000';

export type TaskHandler = (input: unknown) => Promise<unknown>;

export interface WorkflowDefinition {
  /** Short name, e.g. `deploy`; the state machine is `cloudseed-<name>`. */
  readonly name: string;
  readonly definition: Record<string, unknown>;
}

export interface StepFunctionsOptions {
  readonly home: string;
  readonly region: string;
  readonly workflows: readonly WorkflowDefinition[];
  /** The handler behind a `${Substitution}` Resource. */
  readonly handlerFor: (substitution: string) => TaskHandler;
  /** Runs before every Task state; throwing fails that attempt (fault injection). */
  readonly beforeTask?: (stateName: string) => void;
  /** Milliseconds every Wait state and retry interval takes here (the local provider answers at once). */
  readonly waitMs?: number;
}

interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: string;
  stopDate?: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

export interface LocalStepFunctions {
  readonly endpoint: string;
  stateMachineArn(name: string): string;
  /** Resolves when every running execution has finished (for a clean stop). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startStepFunctions(options: StepFunctionsOptions): Promise<LocalStepFunctions> {
  const directory = join(options.home, 'executions');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const arn = (name: string) => `arn:aws:states:${options.region}:${LOCAL_ACCOUNT}:stateMachine:cloudseed-${name}`;
  const machines = new Map(options.workflows.map((workflow) => [arn(workflow.name), compile(workflow, options, arn(workflow.name))]));
  const executions = new Map<string, Execution>();
  const running = new Set<Promise<void>>();

  for (const execution of await loadExecutions(directory)) {
    if (execution.status === 'RUNNING') {
      Object.assign(execution, {
        status: 'FAILED',
        stopDate: new Date().toISOString(),
        error: 'States.Runtime',
        cause: 'The local cloud stopped while this execution ran.',
      });
      await save(directory, execution);
    }
    executions.set(execution.executionArn, execution);
  }

  const actions: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartExecution: (body) => {
      const stateMachineArn = typeof body.stateMachineArn === 'string' ? body.stateMachineArn : '';
      const machine = machines.get(stateMachineArn);
      if (!machine) throw new ServiceError('StateMachineDoesNotExist', `State machine does not exist: ${stateMachineArn}`);
      const name = typeof body.name === 'string' ? body.name : randomUUID();
      const input = typeof body.input === 'string' ? body.input : '{}';
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      const existing = executions.get(executionArn);
      if (existing) {
        if (existing.input === input) return { executionArn, startDate: toEpoch(existing.startDate) };
        throw new ServiceError('ExecutionAlreadyExists', `Execution already exists: ${executionArn}`);
      }
      const execution: Execution = { executionArn, stateMachineArn, name, status: 'RUNNING', startDate: new Date().toISOString(), input, events: [] };
      executions.set(executionArn, execution);
      const run = save(directory, execution)
        .then(() => machine(execution, directory))
        .finally(() => running.delete(run));
      running.add(run);
      return { executionArn, startDate: toEpoch(execution.startDate) };
    },
    DescribeExecution: (body) => {
      const execution = find(body);
      return {
        executionArn: execution.executionArn,
        stateMachineArn: execution.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: toEpoch(execution.startDate),
        ...(execution.stopDate ? { stopDate: toEpoch(execution.stopDate) } : {}),
        input: execution.input,
        ...(execution.output === undefined ? {} : { output: execution.output }),
        ...(execution.error === undefined ? {} : { error: execution.error, cause: execution.cause }),
      };
    },
    GetExecutionHistory: (body) => {
      const execution = find(body);
      const events = execution.events.map((event) => ({ ...event, timestamp: toEpoch(String(event.timestamp)) }));
      return { events: body.reverseOrder === true ? events.reverse() : events };
    },
  };

  function find(body: Record<string, unknown>): Execution {
    const execution = executions.get(typeof body.executionArn === 'string' ? body.executionArn : '');
    if (!execution)
      throw new ServiceError(
        'ExecutionDoesNotExist',
        `Execution does not exist: ${typeof body.executionArn === 'string' ? body.executionArn : '(none)'}`,
      );
    return execution;
  }

  const service = await startJsonService(
    { name: 'the Step Functions stand-in', contentType: 'application/x-amz-json-1.0' },
    async ({ method, headers, body }) => {
      const target = String(headers['x-amz-target'] ?? '');
      const action = actions[target.replace(/^AWSStepFunctions\./, '')];
      if (method !== 'POST' || !action) throw new ServiceError('UnknownOperationException', `Unsupported operation ${target}`);
      return { body: await action(body as Record<string, unknown>) };
    },
  );

  return {
    endpoint: service.endpoint,
    stateMachineArn: arn,
    idle: async () => {
      await Promise.allSettled([...running]);
    },
    close: () => service.close(),
  };
}

function toEpoch(iso: string): number {
  return new Date(iso).getTime() / 1000;
}

/**
 * How long a Task state that sets no timeout of its own may run locally. Step Functions puts no
 * limit on such a state (the Lambda function's own timeout governs, up to 15 minutes for
 * CloudSeed's longest steps); aws-local-stepfunctions would stop it after 60 s. Locally a step does
 * a node's work in-process (configuring a cluster clones its replica), which a loaded machine can
 * take longer than a minute over, so the local runner gives every such Task the longest time a
 * CloudSeed step has on AWS.
 */
const LOCAL_TASK_TIMEOUT_SECONDS = 900;

/** Every `${Name}` Resource becomes a placeholder ARN and its Task state gets the step module's handler. */
function compile(workflow: WorkflowDefinition, options: StepFunctionsOptions, machineArn: string) {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [stateName, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        const match = /^\$\{(\w+)\}$/.exec(String(state.Resource));
        if (!match?.[1]) throw new Error(`${workflow.name}: Task ${stateName} has no \${...} Resource`);
        const handler = options.handlerFor(match[1]);
        state.Resource = `arn:aws:lambda:${options.region}:${LOCAL_ACCOUNT}:function:cloudseed-${match[1]}`;
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = LOCAL_TASK_TIMEOUT_SECONDS;
        handlers[stateName] = async (input) => {
          options.beforeTask?.(stateName);
          return handler(input);
        };
        if (options.waitMs !== undefined) retries[stateName] = options.waitMs;
      }
      if (state.Type === 'Wait' && options.waitMs !== undefined) waits[stateName] = options.waitMs;
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, Record<string, unknown>> } | undefined;
      if (processor?.States) visit(processor.States);
    }
  };
  const definition = structuredClone(workflow.definition) as { States: Record<string, Record<string, unknown>> };
  visit(definition.States);
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });

  return async (execution: Execution, directory: string): Promise<void> => {
    const run = machine.run(JSON.parse(execution.input) as Record<string, never>, {
      overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits, retryIntervalOverrides: retries },
      context: { Execution: { Id: execution.executionArn, Name: execution.name, StartTime: execution.startDate }, StateMachine: { Id: machineArn } },
    });
    const history = new HistoryWriter(execution);
    const persist = throttle(() => save(directory, execution), 100);
    const recording = (async () => {
      for await (const event of run.eventLogs) {
        history.add(event);
        persist.schedule();
      }
    })();
    try {
      const output = await run.result;
      Object.assign(execution, { status: 'SUCCEEDED', output: JSON.stringify(output) });
    } catch (error) {
      const failure = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
      Object.assign(execution, {
        status: 'FAILED',
        error: failure.cause?.name ?? failure.name ?? 'Error',
        cause: failure.cause?.message ?? failure.message ?? '',
      });
    }
    await recording.catch((error: unknown) => log.error('reading the execution events failed', error));
    execution.stopDate = new Date().toISOString();
    await persist.flush();
    await save(directory, execution);
  };
}

interface LocalEvent {
  type: string;
  timestamp: number;
  index?: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string };
  Error?: string;
  Cause?: unknown;
  input?: unknown;
  output?: unknown;
}

/** Turns aws-local-stepfunctions' event log into AWS-shaped history events, chained per Map iteration. */
class HistoryWriter {
  readonly #execution: Execution;
  readonly #lastIdOf = new Map<string, number>();
  /** Chains whose Task failed and was not retried: AWS records no exit for it, so neither do we. */
  readonly #failedTask = new Set<string>();

  constructor(execution: Execution) {
    this.#execution = execution;
  }

  add(event: LocalEvent): void {
    const chain = event.index === undefined ? 'root' : `iteration-${event.index}`;
    const push = (type: string, details: Record<string, unknown> = {}) => {
      const id = this.#execution.events.length + 1;
      const previous = this.#lastIdOf.get(chain) ?? this.#lastIdOf.get('root');
      this.#execution.events.push({
        id,
        ...(previous === undefined ? {} : { previousEventId: previous }),
        timestamp: new Date(event.timestamp).toISOString(),
        type,
        ...details,
      });
      this.#lastIdOf.set(chain, id);
    };
    const stateType = event.state?.type ?? '';
    switch (event.type) {
      case 'ExecutionStarted':
        push('ExecutionStarted', { executionStartedEventDetails: { input: JSON.stringify(event.input ?? {}) } });
        break;
      case 'ExecutionSucceeded':
        push('ExecutionSucceeded', { executionSucceededEventDetails: { output: JSON.stringify(event.output ?? {}) } });
        break;
      case 'ExecutionFailed':
        push('ExecutionFailed', { executionFailedEventDetails: { error: event.Error, cause: stringify(event.Cause) } });
        break;
      case 'StateEntered':
        push(`${stateType}StateEntered`, { stateEnteredEventDetails: { name: event.state?.name, input: JSON.stringify(event.state?.input ?? {}) } });
        break;
      case 'StateExited':
        if (stateType === 'Task' && this.#failedTask.delete(chain)) break;
        if (stateType === 'Task') push('TaskSucceeded', { taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke' } });
        push(`${stateType}StateExited`, { stateExitedEventDetails: { name: event.state?.name, output: JSON.stringify(event.state?.output ?? {}) } });
        break;
      case 'StateFailed':
        if (stateType === 'Task') {
          this.#failedTask.add(chain);
          push('TaskFailed', {
            taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: event.Error, cause: stringify(event.Cause) },
          });
        } else push(`${stateType}StateFailed`, { error: event.Error, cause: stringify(event.Cause) });
        break;
      case 'StateRetried':
        this.#failedTask.delete(chain);
        push('TaskScheduled', { taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke' } });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        push(event.type, { mapIterationEventDetails: { name: event.parentState?.name, index: event.index } });
        break;
      default:
        break;
    }
  }
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}

function throttle(write: () => Promise<void>, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();
  return {
    schedule() {
      timer ??= setTimeout(() => {
        timer = undefined;
        pending = pending.then(write).catch((error: unknown) => log.error('saving an execution failed', error));
      }, ms);
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await pending;
    },
  };
}

async function save(directory: string, execution: Execution): Promise<void> {
  await writeJsonAtomic(join(directory, `${execution.name}.json`), execution);
}

async function loadExecutions(directory: string): Promise<Execution[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.json'));
  const loaded = await Promise.all(files.map(async (file) => JSON.parse(await readFile(join(directory, file), 'utf8')) as Execution));
  return loaded;
}
