import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { planJsonSchema } from '../cs-json/json-schema.ts';
import type { Plan } from '../cs-json/schema.ts';
import { validatePlan } from '../cs-json/validate.ts';
import type { FieldProblem } from '../errors.ts';
import { renderAwsJson } from '../targets/aws/aws-json.ts';
import { renderLocalJson } from '../targets/local/local-json.ts';
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
  render <file> [--target aws|local]  Print the deployment document (aws-json, or the local cloud's) for a plan.
           [--plan-id ID]             Plan id used in names and tags (default: "preview").
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

async function renderCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { target: { type: 'string' }, 'plan-id': { type: 'string', default: 'preview' } }, 1);
  const file = positionals[0] ?? '-';
  const planId = values['plan-id'] ?? 'preview';
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(planId)) throw new UsageError('--plan-id must be 1-40 lower-case letters, digits or hyphens');
  if (values.target !== undefined && values.target !== 'aws' && values.target !== 'local') {
    throw new UsageError('--target must be aws or local');
  }
  const target =
    values.target === 'aws' ? { cloud: 'aws' as const, region: 'us-east-1' } : values.target === 'local' ? { cloud: 'local' as const } : undefined;
  const loaded = await loadPlan(file, io, target);
  if ('problems' in loaded) return reportProblems(file, loaded.problems, io);
  const rendered = loaded.plan.target.cloud === 'aws' ? renderAwsJson(loaded.plan, { planId }) : renderLocalJson(loaded.plan, { planId });
  io.stdout(`${JSON.stringify(rendered, null, 2)}\n`);
  return EXIT_OK;
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
