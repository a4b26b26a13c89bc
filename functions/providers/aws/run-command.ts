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

export { failureReason, isStrictIpv4, requireIpv4, tailOf } from '../command-output.ts';
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
