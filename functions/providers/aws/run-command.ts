import { CA_CERTIFICATE_FILE, renderNodeScript, shellQuote } from '@cloudseed/shared/targets/aws/scripts';
import type { AwsComponent } from '@cloudseed/shared';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import { PermanentError } from '../errors.ts';

// How a script reaches an instance through SSM Run Command (AWS-RunShellScript). The script goes
// in base64, so nothing in it is interpreted by the shell that writes it to disk and its text
// never appears in the command as it is shown in the console, CloudTrail or the command history.
// Only the environment of the final line is plain text, and it holds nothing but validated IPv4
// addresses, a role, a node name and an etcd member's index.

export const SCRIPT_DIR = '/root';
const REASON_LIMIT = 500;

/** Strict dotted-quad IPv4: four decimal octets 0-255 without leading zeros. */
export function isStrictIpv4(value: string): boolean {
  return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(value);
}

export function requireIpv4(value: string | undefined, what: string): string {
  if (value === undefined || !isStrictIpv4(value)) throw new PermanentError(`${what} has no valid private IPv4 address (${String(value)})`);
  return value;
}

export type { ScriptEnvironment };

/** The `commands` parameter of AWS-RunShellScript that writes `script` to disk and runs it with `environment`. */
export function shellCommands(label: string, script: string, environment: ScriptEnvironment = []): string[] {
  if (!/^[a-z-]+$/.test(label)) throw new PermanentError(`invalid script label ${label}`);
  const path = `${SCRIPT_DIR}/cloudseed-${label}.sh`;
  const encoded = Buffer.from(script, 'utf8').toString('base64');
  const assignments = environment.map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new PermanentError(`invalid environment variable name ${name}`);
    return `${name}=${shellQuote(value)} `;
  });
  return ['set -e', 'umask 077', `printf '%s' '${encoded}' | base64 -d > ${path}`, `chmod 700 ${path}`, `${assignments.join('')}bash ${path}`];
}

/** At most 100 characters, as SendCommand's Comment allows. */
export function commandComment(planId: string, componentId: string, label: string): string {
  return `CloudSeed ${planId}/${componentId} ${label}`.slice(0, 100);
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

/**
 * Checks a node the way a client would (verify.sh): the local superuser runs `SELECT 1`, then the
 * application role connects over TCP with `sslmode=verify-full` against the plan's CA and confirms
 * its own connection is TLS. The password is read from Parameter Store inside the script into
 * PGPASSWORD, never written anywhere.
 */
export function verifyScript(component: AwsComponent, region: string): string {
  const { port, databaseName, username } = component.postgres;
  return renderNodeScript(
    'verify: PostgreSQL answers locally and to the application role over TLS.',
    {
      REGION: region,
      PASSWORD_PARAMETER: component.passwordParameter,
      PGPORT: String(port),
      PGSSLROOTCERT: CA_CERTIFICATE_FILE,
      PGUSER: username,
      PGDATABASE: databaseName,
    },
    ['verify.sh'],
  );
}
