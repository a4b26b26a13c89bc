import { DeleteParametersCommand, GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { NotFound } from '@cloudseed/shared/errors';
import {
  archiveCipherParameterFor,
  certificateAuthorityParameterFor,
  patroniPasswordParameterFor,
  replicationPasswordParameterFor,
  rewindPasswordParameterFor,
} from '@cloudseed/shared/targets/aws/scripts';
import type { AwsComponent } from '@cloudseed/shared';
import { certificatePemOf } from '../certificates.ts';
import { generatePassword, newCertificateAuthority } from '../secret-values.ts';
import type { AwsContext } from './clients.ts';
import { awsErrorCode, call } from './errors.ts';
import { baseTags, isCluster } from './target.ts';

// Secrets on AWS: SecureString parameters in the customer's SSM Parameter Store, which only the
// plan's instances and the credentials route read. The application role's password, a cluster's
// replication password, the plan's certificate authority (certificate and key), and the passphrase
// of the component's pgBackRest repository. Teardown deletes them all: a torn-down plan's repository
// (left in the customer's bucket, like its dumps) can no longer be decrypted.

export { generatePassword };

export async function ensurePassword({ target, component, clients: { ssm } }: AwsContext): Promise<void> {
  const parameters = [{ name: component.passwordParameter, what: `password of PostgreSQL role ${component.postgres.username}` }];
  if (isCluster(component)) parameters.push({ name: replicationParameter(component), what: 'password of the replication role' });
  if (component.patroni) {
    parameters.push({ name: component.patroni.rewindPasswordParameter, what: 'password of the pg_rewind role' });
    parameters.push({ name: component.patroni.restPasswordParameter, what: "password of Patroni's REST API" });
  }
  const authority = certificateAuthorityParameter(component);
  parameters.push({ name: authority, what: 'certificate authority of the plan (certificate and key)' });
  parameters.push({ name: archiveCipherParameterFor(component.passwordParameter), what: 'passphrase of the pgBackRest repository (aes-256-cbc)' });
  for (const { name, what } of parameters) {
    const value = name === authority ? await newCertificateAuthority(target.planId) : generatePassword();
    try {
      await call('ssm:PutParameter', () =>
        ssm.send(
          new PutParameterCommand({
            Name: name,
            Description: `CloudSeed ${target.planId}/${component.id}: ${what}`,
            Value: value,
            Type: 'SecureString',
            Overwrite: false,
            Tags: baseTags(component),
          }),
        ),
      );
    } catch (error) {
      // Created by an earlier run: keep it, the server already uses it.
      if (awsErrorCode(error) !== 'ParameterAlreadyExists') throw error;
    }
  }
}

export async function readPassword({ target, component, clients: { ssm } }: AwsContext): Promise<string> {
  try {
    const output = await call('ssm:GetParameter', () =>
      ssm.send(new GetParameterCommand({ Name: component.passwordParameter, WithDecryption: true })),
    );
    const value = output.Parameter?.Value;
    if (value === undefined) throw new NotFound(`the password of ${target.planId}/${component.id} is empty`);
    return value;
  } catch (error) {
    if (awsErrorCode(error) === 'ParameterNotFound')
      throw new NotFound(`the password of ${target.planId}/${component.id} does not exist (not deployed yet?)`);
    throw error;
  }
}

export async function readCaCertificate({ target, component, clients: { ssm } }: AwsContext): Promise<string> {
  const name = certificateAuthorityParameter(component);
  try {
    const output = await call('ssm:GetParameter', () => ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })));
    return certificatePemOf(output.Parameter?.Value ?? '');
  } catch (error) {
    if (awsErrorCode(error) === 'ParameterNotFound')
      throw new NotFound(`the certificate authority of ${target.planId} does not exist (not deployed yet?)`);
    throw error;
  }
}

export async function deleteSecrets({ component, clients: { ssm } }: AwsContext): Promise<void> {
  const names = [
    component.passwordParameter,
    replicationParameter(component),
    certificateAuthorityParameter(component),
    archiveCipherParameterFor(component.passwordParameter),
    // A Patroni cluster's, whether the plan still has one or not: names that never existed are fine.
    rewindPasswordParameterFor(component.passwordParameter),
    patroniPasswordParameterFor(component.passwordParameter),
  ];
  // Names that do not exist come back in InvalidParameters, not as an error.
  await call('ssm:DeleteParameters', () => ssm.send(new DeleteParametersCommand({ Names: names })));
}

function replicationParameter(component: AwsComponent): string {
  return component.replicationPasswordParameter ?? replicationPasswordParameterFor(component.passwordParameter);
}

const certificateAuthorityParameter = (component: AwsComponent): string => certificateAuthorityParameterFor(component.passwordParameter);
