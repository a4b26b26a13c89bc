// Memory sizes as PostgreSQL and pgtune count them: binary units, kB as the base.

export const KB_PER_MB = 1024;
export const KB_PER_GB = 1024 * KB_PER_MB;
export const KB_PER_TB = 1024 * KB_PER_GB;

const kbPerUnit: Readonly<Record<string, number>> = {
  kb: 1,
  mb: KB_PER_MB,
  gb: KB_PER_GB,
  tb: KB_PER_TB,
};

// One optional space between number and unit ('16 GB'); nothing else is tolerated so that
// typos ('16G', '1e3GB', ' 16GB') are reported instead of guessed at.
const memoryPattern = /^(\d+)(?:\.(\d+))?[ ]?(kb|mb|gb|tb)$/i;

/**
 * Parses '16GB', '512MB', '1TB', '2048kB', '16 GB' or '1.5GB' into kB (1GB = 1048576 kB).
 * Throws a RangeError for anything that is not a positive, whole number of kB.
 */
export function parseMemory(text: string): number {
  const match = memoryPattern.exec(text);
  const whole = match?.[1];
  const unit = match?.[3];
  const factor = unit === undefined ? undefined : kbPerUnit[unit.toLowerCase()];
  if (whole === undefined || factor === undefined) {
    throw new RangeError(`Invalid memory size ${JSON.stringify(text)}: expected a positive number followed by kB, MB, GB or TB, e.g. '16GB'`);
  }
  const fraction = match?.[2] ?? '';
  // BigInt keeps decimals exact: '1.1GB' must not become 1153433.6000000001 kB.
  const scale = 10n ** BigInt(fraction.length);
  const scaledKb = BigInt(whole + fraction) * BigInt(factor);
  if (scaledKb % scale !== 0n) {
    throw new RangeError(`Invalid memory size ${JSON.stringify(text)}: it is not a whole number of kB`);
  }
  const kb = scaledKb / scale;
  if (kb <= 0n) {
    throw new RangeError(`Invalid memory size ${JSON.stringify(text)}: it must be greater than zero`);
  }
  if (kb > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Invalid memory size ${JSON.stringify(text)}: it is too large`);
  }
  return Number(kb);
}

/**
 * Writes a kB figure the way pgtune does: GB when it divides by 1048576, else MB when it
 * divides by 1024, else kB. Only whole multiples are promoted, so no precision is lost.
 */
export function formatKb(kb: number): string {
  if (!Number.isSafeInteger(kb) || kb < 0) {
    throw new RangeError(`Invalid kB figure ${kb}: expected a non-negative integer`);
  }
  if (kb % KB_PER_GB === 0) return `${kb / KB_PER_GB}GB`;
  if (kb % KB_PER_MB === 0) return `${kb / KB_PER_MB}MB`;
  return `${kb}kB`;
}
