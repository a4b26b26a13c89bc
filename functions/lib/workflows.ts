import { DescribeExecutionCommand, ExecutionDoesNotExist, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { HistoryEvent as SfnHistoryEvent } from '@aws-sdk/client-sfn';
import { timelineFromHistory } from '@cloudseed/shared/deployments/timeline';
import type { HistoryEvent, TimelineStep, WorkflowEngine, WorkflowInput } from '@cloudseed/shared';
import { requireEnv } from './env.ts';

// Step Functions through the SDK, on AWS and locally alike (the local cloud answers the same API).

const endpoint = process.env.STEPFUNCTIONS_ENDPOINT;
const client = new SFNClient(endpoint ? { endpoint } : {});
const machines: Record<WorkflowInput['mode'], string> = {
  create: requireEnv('DEPLOY_STATE_MACHINE_ARN'),
  update: requireEnv('DEPLOY_STATE_MACHINE_ARN'),
  teardown: requireEnv('TEARDOWN_STATE_MACHINE_ARN'),
  restore: requireEnv('RESTORE_STATE_MACHINE_ARN'),
  stop: requireEnv('STOP_STATE_MACHINE_ARN'),
  // A start is an update of the deployed plan.
  start: requireEnv('DEPLOY_STATE_MACHINE_ARN'),
};

export const workflows: WorkflowEngine = {
  async start(input: WorkflowInput): Promise<string> {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: machines[input.mode],
        name: input.deploymentId,
        input: JSON.stringify(input),
      }),
    );
    if (!executionArn) throw new Error('StartExecution returned no executionArn');
    return executionArn;
  },
};

/** The steps of an execution; none when its history is gone (Step Functions keeps it 90 days). */
export async function executionTimeline(executionArn: string, multipleComponents: boolean): Promise<TimelineStep[]> {
  const events: SfnHistoryEvent[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return [];
    throw error;
  }
  return timelineFromHistory(events as unknown as HistoryEvent[], { multipleComponents });
}

export async function executionStatus(executionArn: string): Promise<string | undefined> {
  return (await client.send(new DescribeExecutionCommand({ executionArn }))).status;
}
