import { DeleteParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { ParameterType } from '@aws-sdk/client-ssm';
import { databaseEnvironment } from '@cloudseed/shared/apps/wiring';
import type { DatabaseLink } from '../../app-provider.ts';
import { PermanentError } from '../../errors.ts';
import { awsErrorCode, call } from '../errors.ts';
import type { AppContext } from './clients.ts';
import { appTags, DATABASE_CA_FILE } from './names.ts';

// A link to a database, as the app's tasks get it. What is secret (DATABASE_URL, PGPASSWORD) and the
// CA certificate are parameters under /cloudseed/<plan>/<app>/ that ECS reads when it starts each
// task (`secrets` in the task definition), so tasks started later by scaling or a replacement get
// the link as it is now and no value sits in the task definition. The rest (PGHOST, PGPORT,
// PGDATABASE, PGUSER, PGSSLMODE, PGSSLROOTCERT) are plain variables.
//
// The CA must be a file for libpq (PGSSLROOTCERT) and node-postgres (sslrootcert in the URL): a
// small container that runs first in every task, from the app's own image, writes the parameter's
// PEM into a volume the app's container mounts read-only at /cloudseed (task-definition.ts).
//
// The variables themselves are the shared wiring's (shared/src/apps/wiring.ts), as the local cloud's.

export interface LinkVariables {
  /** Plain environment variables. */
  readonly environment: Readonly<Record<string, string>>;
  /** Variable name → parameter name, for `secrets`. */
  readonly secrets: Readonly<Record<string, string>>;
}

/** What is secret in a link, kept in Parameter Store; the rest are plain variables. */
const SECRET_VARIABLES = ['DATABASE_URL', 'PGPASSWORD'] as const;

function linkEnvironment(link: DatabaseLink): Record<string, string> {
  if (link.hosts.length === 0) throw new PermanentError(`database ${link.componentId} has no address to link the app to`);
  return databaseEnvironment(link, DATABASE_CA_FILE);
}

export function linkVariables(context: AppContext, link: DatabaseLink): LinkVariables {
  const { names } = context;
  const environment = linkEnvironment(link);
  for (const name of SECRET_VARIABLES) delete environment[name];
  return { environment, secrets: { DATABASE_URL: names.databaseUrlParameter, PGPASSWORD: names.databasePasswordParameter } };
}

/** Writes the link's parameters (replacing what an earlier rollout wrote): the URL and password as SecureStrings, the CA as a String. */
export async function writeLinkParameters(context: AppContext, link: DatabaseLink): Promise<void> {
  const { names, target } = context;
  const what = `CloudSeed ${target.planId}/${target.component.id}: database ${link.componentId}`;
  const environment = linkEnvironment(link);
  await putParameter(context, names.databaseUrlParameter, environment.DATABASE_URL!, 'SecureString', `${what}, DATABASE_URL`);
  await putParameter(context, names.databasePasswordParameter, environment.PGPASSWORD!, 'SecureString', `${what}, PGPASSWORD`);
  // A certificate is public; a String keeps KMS out of reading it.
  await putParameter(context, names.databaseCaParameter, link.caCertificatePem, 'String', `${what}, CA certificate (PEM)`);
}

/** The values of the app's secrets, as SecureString parameters the task definition names (secrets/<NAME>). */
export async function putSecrets(context: AppContext, values: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    await putParameter(
      context,
      context.names.secretParameter(name),
      value,
      'SecureString',
      `Secret ${name} of CloudSeed app ${context.target.component.id}`,
    );
  }
}

/** The app's parameters: the link's, and with `secrets` the values of the app's secrets too (at teardown). */
export async function deleteParameters(context: AppContext, options: { secrets: boolean }): Promise<void> {
  const { names, target } = context;
  const parameters = [names.databaseUrlParameter, names.databasePasswordParameter, names.databaseCaParameter];
  if (options.secrets) parameters.push(...target.component.secrets.map((name) => names.secretParameter(name)));
  // DeleteParameters takes 10 names at a time; names that do not exist come back in InvalidParameters, not as an error.
  for (let start = 0; start < parameters.length; start += 10) {
    const batch = parameters.slice(start, start + 10);
    await call('ssm:DeleteParameters', () => context.clients.ssm.send(new DeleteParametersCommand({ Names: batch })));
  }
}

/**
 * SSM refuses tags together with Overwrite: a new parameter is created with its tags, one that
 * exists is overwritten (and keeps the tags it was created with).
 */
async function putParameter(context: AppContext, name: string, value: string, type: ParameterType, description: string): Promise<void> {
  const { ssm } = context.clients;
  try {
    await call('ssm:PutParameter', () =>
      ssm.send(
        new PutParameterCommand({ Name: name, Description: description, Value: value, Type: type, Overwrite: false, Tags: appTags(context.target) }),
      ),
    );
  } catch (error) {
    if (awsErrorCode(error) !== 'ParameterAlreadyExists') throw error;
    await call('ssm:PutParameter', () =>
      ssm.send(new PutParameterCommand({ Name: name, Description: description, Value: value, Type: type, Overwrite: true })),
    );
  }
}
