import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { connectionUri, membersOf } from '@cloudseed/shared/deployments/connection';
import { NotFound } from '@cloudseed/shared/errors';
import { databasesOf } from '@cloudseed/shared/postgres/access';
import type { RoleAccess } from '@cloudseed/shared/postgres/access';
import { scramVerifier } from '../providers/local/secrets.ts';
import { generatePassword } from '../providers/secret-values.ts';
import { inCloud, localDatabase, runningDatabase } from './queries.ts';

// A new password for one of the plan's roles (postgres/access.ts): generated here, set on the node
// that leads as its SCRAM verifier, and answered once. CloudSeed keeps no copy: a lost password is
// replaced by asking again.

export interface RolePassword {
  readonly component: string;
  readonly role: string;
  readonly access: RoleAccess;
  readonly password: string;
  readonly databases: readonly string[];
  /** The role's connection string to the application's database (sslrootcert: the plan's CA, as for the application role). */
  readonly uri: string;
}

export async function newRolePassword(ownerId: string, planId: string, component: string | undefined, role: string): Promise<RolePassword> {
  const where = await runningDatabase(ownerId, planId, component, 'a role’s password is set while it runs');
  const spec = databaseComponent(where.deployment.spec, where.componentId, '?component');
  const planned = (spec.db.roles ?? []).find((candidate) => candidate.name === role);
  if (!planned) {
    const names = (spec.db.roles ?? []).map((candidate) => candidate.name);
    throw new NotFound(
      names.length > 0
        ? `The deployed plan has no role ${role} in ${spec.id}; its roles are ${names.join(', ')}.`
        : `The deployed plan has no roles in ${spec.id} besides the application's; add one to the plan and deploy it.`,
    );
  }
  const password = generatePassword();
  const verifier = await scramVerifier(password);
  if (where.deployment.spec.target.cloud === 'local') {
    const { setLocalRolePassword } = await import('../providers/local/queries.ts');
    await setLocalRolePassword(localDatabase(where), role, verifier);
  } else {
    await inCloud(
      where,
      (provider, target) => {
        if (!provider.setRolePassword) throw new Error(`roles' passwords are not set on ${where.deployment.spec.target.cloud}`);
        return provider.setRolePassword(target, where.primary, role, verifier);
      },
      `The password of ${role} could not be set`,
    );
  }
  const nodes = componentById({ components: where.deployment.components ?? [] }, where.componentId)?.nodes ?? [];
  const endpoint = {
    host: where.primary.host ?? '',
    port: where.primary.port,
    database: spec.db.databaseName,
    username: role,
    members: membersOf(nodes),
  };
  return {
    component: where.componentId,
    role,
    access: planned.access,
    password,
    databases: databasesOf(spec),
    uri: connectionUri(endpoint, planId, password),
  };
}
