import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AZURE_TOKEN_EXCHANGE_AUDIENCE } from '@cloudseed/shared/targets/azure/connection';
import type { CloudSeedFunction, ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';

// Who the platform is to Google Cloud and Azure: one role with a fixed name, `<stack>-CloudFederation`.
// A customer's Workload Identity pool admits that role's sessions by name (attribute.aws_role), and
// CloudSeed's Entra app has a federated credential for the tokens STS issues it (GetWebIdentityToken,
// AWS's outbound identity federation). Every function has a generated role of its own, different per
// function and per deployment, so the functions that reach customers' clouds assume this one first.

export const CLOUD_FEDERATION_ROLE_SUFFIX = '-CloudFederation';
/** IAM's limit on a role's name. */
const ROLE_NAME_LIMIT = 64;

/** CloudSeed's multi-tenant Entra app, from the operator: `-c azureAppId=<application (client) id>`. */
export const AZURE_APP_ID_CONTEXT = 'azureAppId';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Entra app's client id the context gives, or undefined; anything but a GUID stops the synth here. */
export function azureAppIdFromContext(tryGetContext: (key: string) => unknown): string | undefined {
  const value: unknown = tryGetContext(AZURE_APP_ID_CONTEXT);
  if (value === undefined || value === '') return undefined;
  const appId = typeof value === 'string' ? value.trim() : value;
  if (typeof appId !== 'string' || !GUID.test(appId))
    throw new Error(
      `context ${AZURE_APP_ID_CONTEXT} must be the application (client) id of CloudSeed's Entra app, a GUID such as 00000000-0000-0000-0000-000000000000, not ${JSON.stringify(value)}`,
    );
  return appId.toLowerCase();
}

/** `CloudSeedPlatform-CloudFederation`; a stack name that would make it longer than IAM allows stops the synth. */
export function cloudFederationRoleName(stackName: string): string {
  if (Token.isUnresolved(stackName)) throw new Error('the cloud federation role is named after its stack, whose name must be known at synth');
  const name = `${stackName}${CLOUD_FEDERATION_ROLE_SUFFIX}`;
  if (name.length > ROLE_NAME_LIMIT)
    throw new Error(
      `the cloud federation role's name ${name} is ${name.length} characters, over IAM's ${ROLE_NAME_LIMIT}: the platform stack's name may have at most ${ROLE_NAME_LIMIT - CLOUD_FEDERATION_ROLE_SUFFIX.length}`,
    );
  return name;
}

export interface CloudFederationProps {
  /** CloudSeed's Entra app; the functions that connect Azure subscriptions need it. */
  readonly azureAppId?: string;
}

export class CloudFederation extends Construct {
  readonly role: iam.Role;
  readonly azureAppId: string | undefined;
  readonly #federating: iam.Role[] = [];

  constructor(scope: Construct, id: string, props: CloudFederationProps = {}) {
    super(scope, id);
    this.azureAppId = props.azureAppId;
    // The account, narrowed to the federating functions' roles by their unique ids. Naming each role's
    // ARN as a principal would say the same, but some forty ARNs of up to 95 characters are beyond the
    // trust policy's size quota (2,048 characters unless raised, 4,096 at most); an id is 21. With the
    // account as principal, IAM also wants each caller's own policy to allow the call, which `federate`
    // grants. A role's id is never reused, so a role made again under the same name is not admitted.
    const federatingSessions = Lazy.list({ produce: () => this.#federating.map((role) => `${role.roleId}:*`) });
    this.role = new iam.Role(this, 'Role', {
      roleName: cloudFederationRoleName(Stack.of(this).stackName),
      description: "CloudSeed's identity to customers' Google Cloud projects and Azure tenants, assumed by the functions that reach them",
      assumedBy: new iam.AccountRootPrincipal().withConditions({ StringLike: { 'aws:userid': federatingSessions } }),
    });
    this.node.addValidation({
      validate: () => (this.#federating.length === 0 ? ['no function assumes the cloud federation role, so its trust policy admits nobody'] : []),
    });

    // Tokens for Entra ID's token exchange only. The audience is a request parameter of several values,
    // hence ForAllValues, and the Null test keeps a request without one from passing it vacuously.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sts:GetWebIdentityToken'],
        resources: ['*'],
        conditions: {
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': AZURE_TOKEN_EXCHANGE_AUDIENCE },
          Null: { 'sts:IdentityTokenAudience': 'false' },
        },
      }),
    );
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      `sts:GetWebIdentityToken has no resource to name (it issues a token for the caller), so IAM takes only "*"; the statement allows tokens for ${AZURE_TOKEN_EXCHANGE_AUDIENCE} alone.`,
    );
  }

  /** Lets a function assume the role: admitted by its trust policy, allowed by the function's own, and told the role (and the Entra app). */
  federate(fn: CloudSeedFunction): void {
    if (this.#federating.includes(fn.role)) return;
    this.#federating.push(fn.role);
    this.role.grantAssumeRole(fn.role);
    this.nameTo(fn);
  }

  /** Tells a function the role's ARN and the Entra app without letting it assume the role: to name them to customers. */
  nameTo(fn: ConfigurableFunction): void {
    fn.addEnvironment('CLOUD_FEDERATION_ROLE_ARN', this.role.roleArn);
    if (this.azureAppId) fn.addEnvironment('AZURE_APP_ID', this.azureAppId);
  }
}
