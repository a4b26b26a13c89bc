// The local cloud keeps stdout for its one `ready` line; everything else goes to stderr.
// CLOUDSEED_VERBOSE=1 adds request lines and the emulators' own output.

const verbose = process.env.CLOUDSEED_VERBOSE === '1' || process.env.CLOUDSEED_VERBOSE === 'true';

function describe(error: unknown, stack: boolean): string {
  if (error instanceof Error) return stack ? (error.stack ?? error.message) : error.message;
  return String(error);
}

export const log = {
  verbose,
  debug(message: string): void {
    if (verbose) process.stderr.write(`local-cloud: ${message}\n`);
  },
  /** Something the user should fix, though the local cloud runs without it. */
  warn(message: string): void {
    process.stderr.write(`local-cloud: warning: ${message}\n`);
  },
  /** One line: what failed and why. */
  error(message: string, error?: unknown): void {
    process.stderr.write(`local-cloud: ${message}${error === undefined ? '' : `: ${describe(error, false)}`}\n`);
  },
  /** A bug somewhere below us: keep the stack. */
  crash(message: string, error: unknown): void {
    process.stderr.write(`local-cloud: ${message}: ${describe(error, true)}\n`);
  },
};
