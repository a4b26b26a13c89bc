import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { planJsonSchema } from '../cs-json/json-schema.ts';
import type { Plan } from '../cs-json/schema.ts';
import { validatePlan } from '../cs-json/validate.ts';
import type { FieldProblem } from '../errors.ts';
import { renderDeploymentDocument } from '../targets/render.ts';
import { dataSizes, parseMemory, storageKinds, supportedPgMajors, tune, workloads } from '../postgres/pgtune.ts';
import type { DataSize, StorageKind, Workload } from '../postgres/pgtune.ts';

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const USAGE = `Usage: cloudseed <command> [options]

Commands:
  validate <file>                     Check a plan (cs-json or the original shorthand); exit 1 listing every problem.
  render <file> [--target local|aws|gcp|azure]
                                      Print the deployment document (the local cloud's, aws-json, gcp-json or
                                      azure-json) for a plan, on its own target or the one given.
           [--plan-id ID]             Plan id used in names and tags (default: "preview").
           [--region R]               The target's region (default: the plan's, else the cloud's default).
           [--project P] [--zone Z]   gcp: the project (required unless the plan names one) and zone.
           [--subscription S] [--resource-group G]
                                      azure: the subscription and resource group (required unless the plan names them).
  tune --pg N --memory SIZE           Print pgtune-tuned postgresql.conf settings.
       [--cpus N] [--connections N] [--workload ${workloads.join('|')}]
       [--storage ${storageKinds.join('|')}] [--data-size ${dataSizes.join('|')}] [--json]
  schema                              Print the cs-json v1 JSON Schema.

<file> may be - to read standard input. Exit codes: 0 ok, 1 invalid plan or input, 2 usage error.
`;

class UsageError extends Error {}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'render':
        return await renderCommand(rest, io);
      case 'tune':
        return tuneCommand(rest, io);
      case 'schema':
        parse(rest, {});
        io.stdout(`${JSON.stringify(planJsonSchema, null, 2)}\n`);
        return EXIT_OK;
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return EXIT_OK;
      default:
        throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr(`cloudseed: ${(error as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: readonly string[], options: T, positionals = 0) {
  const parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: positionals > 0 });
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(positionals === 1 ? 'exactly one <file> is required' : 'unexpected arguments');
  }
  return parsed;
}

function isParseArgsError(error: unknown): boolean {
  const code: unknown = (error as { code?: unknown } | null)?.code;
  return error instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

async function loadPlan(file: string, io: CliIo, target?: Plan['target']): Promise<{ plan: Plan } | { problems: FieldProblem[] }> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { problems: [{ path: '/', message: `is not valid JSON (${(error as Error).message})` }] };
  }
  if (target && typeof document === 'object' && document !== null && !Array.isArray(document) && 'apiVersion' in document) {
    document = { ...document, target };
  }
  const result = validatePlan(document, target ? { defaultTarget: target } : {});
  return result.ok ? { plan: result.plan } : { problems: result.errors };
}

function reportProblems(file: string, problems: readonly FieldProblem[], io: CliIo): number {
  io.stderr(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
  for (const problem of problems) io.stderr(`  ${problem.path}: ${problem.message}\n`);
  return EXIT_INVALID;
}

async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parse(args, {}, 1);
  const file = positionals[0] ?? '-';
  const loaded = await loadPlan(file, io);
  if ('problems' in loaded) return reportProblems(file, loaded.problems, io);
  const count = loaded.plan.components.length;
  io.stdout(`${file}: valid cs/v1 plan "${loaded.plan.name}" with ${count} component${count === 1 ? '' : 's'}\n`);
  return EXIT_OK;
}

const CLOUDS = ['local', 'aws', 'gcp', 'azure'] as const;

async function renderCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      target: { type: 'string' },
      'plan-id': { type: 'string', default: 'preview' },
      region: { type: 'string' },
      project: { type: 'string' },
      zone: { type: 'string' },
      subscription: { type: 'string' },
      'resource-group': { type: 'string' },
    },
    1,
  );
  const file = positionals[0] ?? '-';
  const planId = values['plan-id'] ?? 'preview';
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(planId)) throw new UsageError('--plan-id must be 1-40 lower-case letters, digits or hyphens');
  const cloud = values.target === undefined ? undefined : oneOf('--target', values.target, CLOUDS);
  const own = cloud === undefined ? undefined : await ownTarget(file, io);
  const target = cloud === undefined ? undefined : targetFor(cloud as (typeof CLOUDS)[number], values, own?.cloud === cloud ? own : undefined);
  const loaded = await loadPlan(file, io, target as Plan['target'] | undefined);
  if ('problems' in loaded) return reportProblems(file, loaded.problems, io);
  io.stdout(`${JSON.stringify(renderDeploymentDocument(loaded.plan, { planId }), null, 2)}\n`);
  return EXIT_OK;
}

type TargetOptions = Partial<Record<'region' | 'project' | 'zone' | 'subscription' | 'resource-group', string>>;

/** The target the plan file names itself (unchecked: validation checks what is finally used). */
async function ownTarget(file: string, io: CliIo): Promise<Record<string, unknown> | undefined> {
  try {
    const document = JSON.parse(await io.readFile(file)) as unknown;
    const target = typeof document === 'object' && document !== null ? (document as Record<string, unknown>).target : undefined;
    return typeof target === 'object' && target !== null ? (target as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The target `--target` asks for: the plan's own when it names the same cloud, with the options
 * laid over it. What a cloud cannot do without (a GCP project, an Azure subscription and resource
 * group) must come from one or the other.
 */
function targetFor(cloud: (typeof CLOUDS)[number], values: TargetOptions, own: Record<string, unknown> | undefined): Record<string, unknown> {
  const base: Record<string, unknown> = { ...own, cloud };
  const set = (key: string, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  switch (cloud) {
    case 'local':
      return { cloud };
    case 'aws':
      return { ...base, ...set('region', values.region) };
    case 'gcp': {
      // A new region without a zone takes the region's default zone, not the plan's old one.
      const zone = values.zone ?? (values.region === undefined ? undefined : `${values.region}-a`);
      const target: Record<string, unknown> = { ...base, ...set('region', values.region), ...set('project', values.project), ...set('zone', zone) };
      if (target.project === undefined) throw new UsageError('--target gcp needs --project (the plan names no Google Cloud project)');
      return target;
    }
    case 'azure': {
      const target: Record<string, unknown> = {
        ...base,
        ...set('region', values.region),
        ...set('subscriptionId', values.subscription),
        ...set('resourceGroup', values['resource-group']),
      };
      if (target.subscriptionId === undefined || target.resourceGroup === undefined) {
        throw new UsageError('--target azure needs --subscription and --resource-group (the plan names none)');
      }
      return target;
    }
  }
}

function tuneCommand(args: readonly string[], io: CliIo): number {
  const { values } = parse(args, {
    pg: { type: 'string' },
    memory: { type: 'string' },
    cpus: { type: 'string' },
    connections: { type: 'string' },
    workload: { type: 'string', default: 'web' },
    storage: { type: 'string', default: 'ssd' },
    'data-size': { type: 'string', default: 'mid_ram' },
    json: { type: 'boolean', default: false },
  });
  if (values.pg === undefined || values.memory === undefined) throw new UsageError('tune needs --pg and --memory');
  const pgMajor = wholeNumber('--pg', values.pg);
  if (!supportedPgMajors.includes(pgMajor)) throw new UsageError(`--pg must be one of ${supportedPgMajors.join(', ')}`);
  let memoryKb: number;
  try {
    memoryKb = parseMemory(values.memory);
  } catch (error) {
    throw new UsageError(`--memory: ${(error as Error).message}`);
  }
  const workload = oneOf('--workload', values.workload ?? 'web', workloads);
  const storage = oneOf('--storage', values.storage ?? 'ssd', storageKinds);
  const dataSize = oneOf('--data-size', values['data-size'] ?? 'mid_ram', dataSizes);
  const cpus = values.cpus === undefined ? undefined : wholeNumber('--cpus', values.cpus);
  const connections = values.connections === undefined ? undefined : wholeNumber('--connections', values.connections);
  if (cpus !== undefined && (cpus < 1 || cpus > 1024)) throw new UsageError('--cpus must be 1 to 1024');
  if (connections !== undefined && (connections < 1 || connections > 100_000)) throw new UsageError('--connections must be 1 to 100000');

  const result = tune({
    pgMajor,
    memoryKb,
    workload: workload as Workload,
    storage: storage as StorageKind,
    dataSize: dataSize as DataSize,
    ...(cpus === undefined ? {} : { cpus }),
    ...(connections === undefined ? {} : { connections }),
  });
  if (values.json) {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT_OK;
  }
  const header = [
    `# DB Version: ${pgMajor}`,
    '# OS Type: linux',
    `# DB Type: ${workload}`,
    `# Total Memory (RAM): ${values.memory}`,
    ...(cpus === undefined ? [] : [`# CPUs num: ${cpus}`]),
    ...(connections === undefined ? [] : [`# Connections num: ${connections}`]),
    `# Data Storage: ${storage}`,
  ];
  const lines = [...header, '', ...Object.entries(result.settings).map(([name, value]) => `${name} = ${value}`)];
  for (const warning of result.warnings) lines.push(`# WARNING: ${warning}`);
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d{1,7}$/.test(text)) throw new UsageError(`${flag} must be a whole number`);
  return Number(text);
}

function oneOf(flag: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
  return value;
}
