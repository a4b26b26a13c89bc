import { findOs } from '@cloudseed/shared/postgres/os';
import { setPasswordSql } from '@cloudseed/shared/postgres/access';
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import { PermanentError } from '../errors.ts';
import type { NodeRef } from '../provider.ts';
import { serverValues } from './backup-scripts.ts';
import type { BackupHost, CommandLimits } from './host.ts';

// One of the plan's roles gets a new password on a cloud database's primary: sh/role-password.sh
// runs the statement the local cloud runs (shared/src/postgres/access.ts) with the SCRAM verifier
// the API computed, so the password itself never travels to the node or into its command history.

const LIMITS: CommandLimits = { commandSeconds: 60, pollMs: 1_000, polls: 60 };

export function rolePasswordScript(host: BackupHost, role: string, verifier: string): string {
  const { os, postgres } = host.component;
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major)) throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major}`);
  return renderNodeScript(
    `role-password: a new password for role ${role}.`,
    {
      TASK: 'role-password',
      ROLE: role,
      PASSWORD_SQL: setPasswordSql(role, verifier).trimEnd(),
      ...serverValues({ binDir: image.binDir(postgres.major), port: postgres.port }),
    },
    ['task-helpers.sh', 'role-password.sh'],
    host.cloud,
  );
}

export async function setRolePassword(host: BackupHost, primary: NodeRef, role: string, verifier: string): Promise<void> {
  host.checkNode(primary);
  const what = `setting the password of role ${role} on ${host.nodeLabel(primary)}`;
  const result = await host.run(primary, 'role-password', rolePasswordScript(host, role, verifier), what, { limits: LIMITS });
  if (result['result'] !== 'set') throw new PermanentError(`${what} gave no answer`);
}
