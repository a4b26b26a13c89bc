import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { faultsFile } from './paths.ts';

// Fault injection for tests of the local cloud: CLOUDSEED_HOME/faults.json maps a workflow step's
// name to "once" (fail the next run of it) or "always". The workflow runner asks before each step.
// The file is read at every check, so a test can arm a fault while the cloud runs. Synchronous on
// purpose: within one process two checks cannot interleave and consume the same "once" twice.

export type FaultMode = 'once' | 'always';
export type Faults = Record<string, FaultMode>;

/** The reason the step must fail, or undefined to let it run. A "once" fault is removed as it fires. */
export function consumeFault(home: string, stepName: string): string | undefined {
  const faults = readFaults(home);
  const mode = faults[stepName];
  if (mode === undefined) return undefined;
  if (mode === 'once') {
    const { [stepName]: _fired, ...rest } = faults;
    writeFaults(home, rest);
  }
  return `injected fault: ${stepName} fails (${mode}, from faults.json)`;
}

/** Arms a fault; tests and the local cloud's tooling use it instead of writing the file by hand. */
export function injectFault(home: string, stepName: string, mode: FaultMode): void {
  writeFaults(home, { ...readFaults(home), [stepName]: mode });
}

export function clearFaults(home: string): void {
  rmSync(faultsFile(home), { force: true });
}

export function readFaults(home: string): Faults {
  const file = faultsFile(home);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; expected { "<StepName>": "once" | "always" }`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} must be an object: { "<StepName>": "once" | "always" }`);
  }
  const faults: Faults = {};
  for (const [step, mode] of Object.entries(parsed as Record<string, unknown>)) {
    if (mode !== 'once' && mode !== 'always') throw new Error(`${file}: "${step}" must be "once" or "always", not ${JSON.stringify(mode)}`);
    faults[step] = mode;
  }
  return faults;
}

/** Replaces the file whole (temporary file + rename) so a reader never sees half of it. */
function writeFaults(home: string, faults: Faults): void {
  const file = faultsFile(home);
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(faults, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}
