import { parseMemory } from './units.ts';

// The PostgreSQL settings a plan may set itself (`db.parameters`), on top of pgtune's values and
// CloudSeed's production settings. Only settings that cannot weaken security, break replication or
// backups, or outgrow the machine in one step are offered: memory and planner tuning, timeouts,
// autovacuum and logging thresholds. Each says whether a running server takes it on reload or
// only on a restart, which a deploy then does (a few seconds offline).

export type ParameterKind = 'memory' | 'duration' | 'integer' | 'real' | 'boolean';
/** When a changed value takes effect: on reload (no interruption) or only on restart. */
export type ParameterApply = 'reload' | 'restart';

export interface ParameterDefinition {
  readonly kind: ParameterKind;
  readonly apply: ParameterApply;
  readonly description: string;
  /** Bounds, in kB for memory, ms for durations. */
  readonly min?: number;
  readonly max?: number;
}

const MB = 1024;
const GB = 1024 * MB;
const HOUR_MS = 3_600_000;

export const PARAMETERS = {
  shared_buffers: { kind: 'memory', apply: 'restart', min: 16 * MB, max: 1024 * GB, description: 'Memory for PostgreSQL’s page cache' },
  work_mem: { kind: 'memory', apply: 'reload', min: 64, max: 4 * GB, description: 'Memory one sort or hash may use before spilling to disk' },
  maintenance_work_mem: { kind: 'memory', apply: 'reload', min: 1 * MB, max: 16 * GB, description: 'Memory for VACUUM, CREATE INDEX and similar' },
  effective_cache_size: { kind: 'memory', apply: 'reload', min: 8 * MB, max: 4096 * GB, description: 'What the planner assumes the OS caches' },
  min_wal_size: { kind: 'memory', apply: 'reload', min: 32 * MB, max: 1024 * GB, description: 'WAL kept for reuse between checkpoints' },
  max_wal_size: { kind: 'memory', apply: 'reload', min: 64 * MB, max: 1024 * GB, description: 'WAL written before a checkpoint is forced' },
  random_page_cost: { kind: 'real', apply: 'reload', min: 0.1, max: 100, description: 'The planner’s cost of a random page read' },
  effective_io_concurrency: { kind: 'integer', apply: 'reload', min: 0, max: 1000, description: 'Concurrent disk reads the planner expects' },
  default_statistics_target: { kind: 'integer', apply: 'reload', min: 1, max: 10_000, description: 'Detail ANALYZE keeps per column' },
  checkpoint_completion_target: { kind: 'real', apply: 'reload', min: 0, max: 1, description: 'Share of the checkpoint interval writes spread over' },
  max_parallel_workers_per_gather: { kind: 'integer', apply: 'reload', min: 0, max: 64, description: 'Parallel workers one query step may use' },
  jit: { kind: 'boolean', apply: 'reload', description: 'Compile expressions of long queries' },
  statement_timeout: { kind: 'duration', apply: 'reload', min: 0, max: 24 * HOUR_MS, description: 'Longest a statement may run (0: no limit)' },
  lock_timeout: { kind: 'duration', apply: 'reload', min: 0, max: 24 * HOUR_MS, description: 'Longest a statement waits for a lock (0: no limit)' },
  idle_in_transaction_session_timeout: {
    kind: 'duration',
    apply: 'reload',
    min: 0,
    max: 24 * HOUR_MS,
    description: 'Longest a session may sit idle in a transaction (0: no limit)',
  },
  log_min_duration_statement: {
    kind: 'duration',
    apply: 'reload',
    min: -1,
    max: 24 * HOUR_MS,
    description: 'Statements slower than this are logged (-1: none)',
  },
  autovacuum_vacuum_scale_factor: { kind: 'real', apply: 'reload', min: 0, max: 1, description: 'Share of a table changed before autovacuum runs' },
  autovacuum_analyze_scale_factor: { kind: 'real', apply: 'reload', min: 0, max: 1, description: 'Share of a table changed before autoanalyze runs' },
} as const satisfies Record<string, ParameterDefinition>;

export type ParameterName = keyof typeof PARAMETERS;
export const PARAMETER_NAMES = Object.keys(PARAMETERS) as ParameterName[];
export const isParameterName = (name: string): name is ParameterName => Object.hasOwn(PARAMETERS, name);

const DURATION = /^(-?\d+)\s?(ms|s|min|h)?$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: HOUR_MS };

/** A duration as PostgreSQL reads one ('30s', '500ms', '5min', '1h'; a bare number is ms), in ms. */
function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError("must be a duration such as '30s', '500ms', '5min' or '1h'");
  return Number(match[1]) * (DURATION_MS[match[2] ?? 'ms'] ?? 1);
}

function describeBound(definition: ParameterDefinition, value: number): string {
  if (definition.kind === 'memory')
    return value >= GB && value % GB === 0 ? `${value / GB}GB` : value >= MB && value % MB === 0 ? `${value / MB}MB` : `${value}kB`;
  if (definition.kind === 'duration') return value % HOUR_MS === 0 && value !== 0 ? `${value / HOUR_MS}h` : `${value}ms`;
  return String(value);
}

/**
 * The value as postgresql.conf takes it (memory and durations as written, numbers as numbers,
 * booleans as on/off); a RangeError saying what is expected when it is not a valid value.
 */
export function normaliseParameter(name: ParameterName, value: string): string {
  const definition: ParameterDefinition = PARAMETERS[name];
  const text = value.trim();
  let amount: number | undefined;
  switch (definition.kind) {
    case 'boolean':
      if (/^(on|true|yes|1)$/i.test(text)) return 'on';
      if (/^(off|false|no|0)$/i.test(text)) return 'off';
      throw new RangeError('must be on or off');
    case 'memory':
      try {
        amount = parseMemory(text);
      } catch {
        throw new RangeError("must be a size such as '64MB' or '4GB'");
      }
      break;
    case 'duration':
      amount = parseDuration(text);
      break;
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new RangeError('must be a whole number');
      amount = Number(text);
      break;
    case 'real':
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw new RangeError('must be a number');
      amount = Number(text);
      break;
  }
  const { min, max } = definition;
  if ((min !== undefined && amount < min) || (max !== undefined && amount > max))
    throw new RangeError(`must be from ${describeBound(definition, min ?? amount)} to ${describeBound(definition, max ?? amount)}`);
  return definition.kind === 'memory' || definition.kind === 'duration' ? text.replace(/\s/g, '') : String(amount);
}

/** What the plan sets, as postgresql.conf takes it (normalised values need no quoting: no spaces, no quotes). */
export function parameterSettings(parameters: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters ?? {}).filter(([name]) => isParameterName(name)));
}
