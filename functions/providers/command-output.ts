import { PermanentError } from './errors.ts';

// What every provider makes of a node's answer: a validated private address, and a failure reason
// that ends with what the script printed last.

const REASON_LIMIT = 500;

/** Strict dotted-quad IPv4: four decimal octets 0-255 without leading zeros. */
export function isStrictIpv4(value: string): boolean {
  return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(value);
}

export function requireIpv4(value: string | undefined, what: string): string {
  if (value === undefined || !isStrictIpv4(value)) throw new PermanentError(`${what} has no valid private IPv4 address (${String(value)})`);
  return value;
}

/** The last lines of a command's standard error that fit in `limit` characters, trimmed. */
export function tailOf(text: string, limit: number): string {
  const lines = text.trim().split(/\r?\n/);
  const kept: string[] = [];
  let length = 0;
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!.trimEnd();
    const added = line.length + (kept.length > 0 ? 1 : 0);
    if (length + added > limit) {
      if (kept.length === 0) kept.unshift(line.slice(line.length - limit));
      break;
    }
    kept.unshift(line);
    length += added;
  }
  return kept.join('\n').trim();
}

/** A failure reason of at most 500 characters: the prefix, then as much of the standard error's end as fits. */
export function failureReason(prefix: string, standardError: string | undefined): string {
  const budget = REASON_LIMIT - prefix.length - 2;
  const tail = standardError ? tailOf(standardError, Math.max(budget, 0)) : '';
  return (tail ? `${prefix}: ${tail}` : prefix).slice(0, REASON_LIMIT);
}
