// The deployment's steps timeline, read from a Step Functions execution history (GetExecutionHistory
// on AWS; the local cloud's Step Functions service answers with the same shape). Only Task states
// are steps; a state entered again (a poll loop) stays one step from its first entry to its last exit.

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId?: number;
  readonly timestamp: string | Date;
  readonly type: string;
  readonly stateEnteredEventDetails?: { readonly name: string; readonly input?: string };
  readonly stateExitedEventDetails?: { readonly name: string; readonly output?: string };
  readonly taskFailedEventDetails?: { readonly error?: string; readonly cause?: string };
}

export type StepStatus = 'running' | 'succeeded' | 'failed';

export interface TimelineStep {
  readonly name: string;
  readonly status: StepStatus;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly error?: string;
}

interface MutableStep {
  name: string;
  status: StepStatus;
  startedAt: string;
  endedAt?: string;
  error?: string;
}

export function timelineFromHistory(events: readonly HistoryEvent[], options: { readonly multipleComponents?: boolean } = {}): TimelineStep[] {
  const byId = new Map(events.map((event) => [event.id, event]));
  const steps = new Map<string, MutableStep>();
  const keyOfEntry = new Map<number, string>();

  const enteredFor = (event: HistoryEvent): HistoryEvent | undefined => {
    let cursor: HistoryEvent | undefined = event;
    for (let hops = 0; cursor && hops < 1000; hops++) {
      if (cursor.type === 'TaskStateEntered' && cursor !== event) return cursor;
      cursor = cursor.previousEventId === undefined ? undefined : byId.get(cursor.previousEventId);
    }
    return undefined;
  };

  for (const event of events) {
    const at = new Date(event.timestamp).toISOString();
    if (event.type === 'TaskStateEntered' && event.stateEnteredEventDetails) {
      const key = stepName(event.stateEnteredEventDetails.name, event.stateEnteredEventDetails.input, options.multipleComponents);
      keyOfEntry.set(event.id, key);
      const existing = steps.get(key);
      if (existing) {
        existing.status = 'running';
        delete existing.endedAt;
        delete existing.error;
      } else {
        steps.set(key, { name: key, status: 'running', startedAt: at });
      }
    } else if (event.type === 'TaskFailed') {
      const entered = enteredFor(event);
      const step = entered ? steps.get(keyOfEntry.get(entered.id) ?? '') : undefined;
      if (step) {
        step.status = 'failed';
        step.endedAt = at;
        step.error = readableCause(event.taskFailedEventDetails?.cause, event.taskFailedEventDetails?.error);
      }
    } else if (event.type === 'TaskStateExited') {
      const entered = enteredFor(event);
      const step = entered ? steps.get(keyOfEntry.get(entered.id) ?? '') : undefined;
      if (step) {
        step.status = 'succeeded';
        step.endedAt = at;
        delete step.error;
      }
    }
  }
  return [...steps.values()];
}

function stepName(state: string, input: string | undefined, multipleComponents = false): string {
  if (!multipleComponents || input === undefined) return state;
  try {
    const componentId = (JSON.parse(input) as { componentId?: unknown }).componentId;
    return typeof componentId === 'string' ? `${state} (${componentId})` : state;
  } catch {
    return state;
  }
}

/** A step's failure cause in plain words: CloudSeed's { step, reason }, inside Lambda's envelope on AWS. */
export function readableCause(cause: string | undefined, error: string | undefined): string {
  let text = cause ?? '';
  for (let depth = 0; depth < 2; depth++) {
    try {
      const parsed = JSON.parse(text) as { reason?: unknown; errorMessage?: unknown };
      if (typeof parsed.reason === 'string') return parsed.reason;
      if (typeof parsed.errorMessage === 'string') text = parsed.errorMessage;
      else break;
    } catch {
      break;
    }
  }
  return text || error || 'failed';
}
