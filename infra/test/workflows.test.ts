import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RETRYABLE_ERRORS } from '@cloudseed/functions/providers/errors';
import { stepModules } from '@cloudseed/functions/steps/index';
import { WORKFLOW_NAMES, WORKFLOWS, placeholdersOf, workflowFile } from '../lib/workflows.ts';
import {
  actionsOf,
  cloudFederationRoleId,
  cloudSeedFunctions,
  environmentOf,
  flat,
  json,
  pathOf,
  props,
  record,
  referencedId,
  resourcesOfType,
  roleStatements,
} from './synth.ts';
import type { CfnResource, Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let app: Synthesized;

beforeAll(() => {
  app = synth();
}, 60_000);

function machine(id: string): CfnResource {
  const found = resourcesOfType(app.platformTemplate, 'AWS::StepFunctions::StateMachine').find(([, resource]) =>
    pathOf(resource).endsWith(`/Workflows/${id}/Resource`),
  );
  if (!found) throw new Error(`no state machine ${id}`);
  return found[1];
}

/** Logical id of each step's function, by its substitution name. */
function stepFunctionIds(): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [id, fn] of cloudSeedFunctions(app.platformTemplate)) {
    const match = /\/Workflows\/Steps\/(\w+)\/Function\/Resource$/.exec(pathOf(fn));
    if (match) ids.set(`${match[1]}FunctionArn`, id);
  }
  return ids;
}

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly States?: Record<string, AslState>;
  readonly Iterator?: { readonly States: Record<string, AslState> };
  readonly ItemProcessor?: { readonly States: Record<string, AslState> };
  readonly Branches?: readonly { readonly States: Record<string, AslState> }[];
}

function taskStates(states: Record<string, AslState>): Array<[string, AslState]> {
  return Object.entries(states).flatMap(([name, state]): Array<[string, AslState]> => [
    ...(state.Type === 'Task' ? [[name, state] as [string, AslState]] : []),
    ...(state.Iterator ? taskStates(state.Iterator.States) : []),
    ...(state.ItemProcessor ? taskStates(state.ItemProcessor.States) : []),
    ...(state.Branches ?? []).flatMap((branch) => taskStates(branch.States)),
  ]);
}

function taskResources(states: Record<string, AslState>): string[] {
  return taskStates(states).map(([, state]) => state.Resource ?? '');
}

/** The errors a Task state retries that steps throw (Lambda's own and Step Functions' names left out). */
function retriedStepErrors(state: AslState): string[] {
  return (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals).filter((name) => !/^(Lambda|States)\./.test(name));
}

describe.each(WORKFLOW_NAMES)('the %s workflow', (name) => {
  const { id } = WORKFLOWS[name];
  const file = workflowFile(name);

  it('fills every ${...} of its ASL file, and nothing else', () => {
    const substitutions = record(props(machine(id)).DefinitionSubstitutions);
    expect(Object.keys(substitutions).sort()).toEqual(placeholdersOf(file).sort());
    let definition = readFileSync(file, 'utf8');
    for (const [key, value] of Object.entries(substitutions)) definition = definition.replaceAll(`\${${key}}`, flat(value));
    expect(definition).not.toMatch(/\$\{(?![A-Za-z0-9]+\.Arn\})/);
  });

  it('runs each Task state on the Lambda function of its step module', () => {
    const substitutions = record(props(machine(id)).DefinitionSubstitutions);
    const functions = stepFunctionIds();
    const asl = JSON.parse(readFileSync(file, 'utf8')) as { States: Record<string, AslState> };
    const resources = taskResources(asl.States);
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      const placeholder = /^\$\{(\w+)\}$/.exec(resource)?.[1];
      expect(placeholder, resource).toBeDefined();
      expect(Object.keys(stepModules)).toContain(placeholder);
      expect(referencedId(substitutions[placeholder!])).toBe(functions.get(placeholder!));
    }
  });

  it('retries in every Task state the transient provider errors, and only the kinds the provider errors say are retryable', () => {
    const asl = JSON.parse(readFileSync(file, 'utf8')) as { States: Record<string, AslState> };
    const retryable: readonly string[] = Object.values(RETRYABLE_ERRORS);
    for (const [stateName, state] of taskStates(asl.States)) {
      const retried = retriedStepErrors(state);
      expect(retried, stateName).toContain(RETRYABLE_ERRORS.transient);
      for (const name of retried) expect(retryable, `${stateName} retries ${name}`).toContain(name);
    }
  });

  it('may invoke exactly the functions it names', () => {
    const roleId = referencedId(props(machine(id)).RoleArn);
    const invokes = resourcesOfType(app.platformTemplate, 'AWS::IAM::Policy')
      .filter(([, policy]) => (props(policy).Roles as unknown[]).some((role) => referencedId(role) === roleId))
      .flatMap(([, policy]) => record(props(policy).PolicyDocument).Statement as { Action: unknown; Resource: unknown }[])
      .filter((statement) => [statement.Action].flat().includes('lambda:InvokeFunction'));
    const granted = invokes.flatMap((statement) => [statement.Resource].flat().map(flat));
    const functions = stepFunctionIds();
    expect(granted.sort()).toEqual(
      placeholdersOf(file)
        .map((placeholder) => `\${${functions.get(placeholder)}.Arn}`)
        .sort(),
    );
  });

  it('logs every event without execution data, and traces', () => {
    const properties = props(machine(id));
    expect(properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    const destination = record(record((record(properties.LoggingConfiguration).Destinations as unknown[])[0]).CloudWatchLogsLogGroup).LogGroupArn;
    const logGroup = json(app.platformTemplate).Resources[referencedId(destination) ?? ''];
    expect(props(logGroup!).RetentionInDays).toBeTypeOf('number');
  });
});

describe('the workflows together', () => {
  it('retry every kind of provider error that is retryable somewhere', () => {
    const retried = new Set(
      WORKFLOW_NAMES.flatMap((name) =>
        taskStates((JSON.parse(readFileSync(workflowFile(name), 'utf8')) as { States: Record<string, AslState> }).States).flatMap(([, state]) =>
          retriedStepErrors(state),
        ),
      ),
    );
    expect([...retried].sort()).toEqual(Object.values(RETRYABLE_ERRORS).sort());
  });
});

describe('the workflow steps', () => {
  it('get the timeouts their work needs', () => {
    const timeouts = new Map(
      cloudSeedFunctions(app.platformTemplate).map(([, fn]) => [/\/Steps\/(\w+)\/Function/.exec(pathOf(fn))?.[1], props(fn).Timeout]),
    );
    expect(timeouts.get('Destroy')).toBe(600);
    expect(timeouts.get('Verify')).toBe(120);
    expect(timeouts.get('Preflight')).toBe(60);
    expect(timeouts.get('LaunchNodes')).toBe(900);
    expect(timeouts.get('DumpBackup')).toBe(900);
    expect(timeouts.get('RestoreBackup')).toBe(900);
  });

  it('may assume only the CloudSeed role in customer accounts and the cloud federation role, and need no node profile name', () => {
    const federationRole = `\${${cloudFederationRoleId(app.platformTemplate)}.Arn}`;
    for (const [name, fnId] of stepFunctionIds()) {
      const assume = roleStatements(app.platformTemplate, fnId).filter((statement) => actionsOf(statement).includes('sts:AssumeRole'));
      expect(
        assume.map((statement) => flat(statement.Resource)),
        name,
      ).toEqual(['arn:${AWS::Partition}:iam::*:role/CloudSeedDeployer*', federationRole]);
      const fn = json(app.platformTemplate).Resources[fnId]!;
      // Node roles are per plan, named from the plan id: there is no shared profile to configure.
      expect(environmentOf(fn).NODE_INSTANCE_PROFILE, name).toBeUndefined();
    }
  });

  it('read and write every table', () => {
    const tableIds = resourcesOfType(app.platformTemplate, 'AWS::DynamoDB::Table').map(([tableId]) => tableId);
    for (const [name, fnId] of stepFunctionIds()) {
      const writes = roleStatements(app.platformTemplate, fnId).filter((statement) => actionsOf(statement).includes('dynamodb:PutItem'));
      const tables = writes.flatMap((statement) => [statement.Resource].flat().map(referencedId));
      for (const tableId of tableIds) expect(tables, name).toContain(tableId);
    }
  });
});
