import { AZURE_PROVIDER_ACTIONS, AZURE_PROVIDER_DATA_ACTIONS } from './actions.ts';
import type { SetupStep } from '../gcp/connection.ts';

// How CloudSeed reaches a customer's Azure subscription without a stored secret: CloudSeed's
// multi-tenant app registration (in CloudSeed's own tenant) has a federated credential that trusts
// the platform's AWS role, through AWS's outbound identity federation (STS GetWebIdentityToken
// issues the role a signed JWT; Entra ID exchanges it for the app's token in the customer's
// tenant). The customer consents to the app once, which makes its service principal in their
// tenant, and gives it a custom role on the plan's resource group and on the backup resource group,
// nothing on the subscription.

/** The resource group backups live in, beside the plans' own: they outlive the plans they were taken of. */
export const BACKUP_RESOURCE_GROUP = 'cloudseed-backups';

/** The audience Entra ID expects in a federated credential's token. */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const AZURE_DEPLOYER_ROLE = 'CloudSeed Deployer';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w.()]{1,89}[-\w()]$/;
const REGION = /^[a-z]+[a-z0-9]*$/;

/** A connected subscription: the customer's tenant, the subscription and the resource group plans deploy into. */
export interface AzureConnection {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
}

function check({ tenantId, subscriptionId, resourceGroup }: AzureConnection, appId: string): void {
  if (!GUID.test(tenantId)) throw new RangeError(`${JSON.stringify(tenantId)} is not an Entra tenant id`);
  if (!GUID.test(subscriptionId)) throw new RangeError(`${JSON.stringify(subscriptionId)} is not an Azure subscription id`);
  if (!RESOURCE_GROUP.test(resourceGroup)) throw new RangeError(`${JSON.stringify(resourceGroup)} is not a resource group name`);
  if (!GUID.test(appId)) throw new RangeError(`${JSON.stringify(appId)} is not an application (client) id`);
}

/** The custom role's definition, assignable on the two resource groups only. */
export function azureDeployerRole({ subscriptionId, resourceGroup }: AzureConnection) {
  const groups = [resourceGroup, BACKUP_RESOURCE_GROUP].map((group) => `/subscriptions/${subscriptionId}/resourceGroups/${group}`);
  return {
    Name: AZURE_DEPLOYER_ROLE,
    IsCustom: true,
    Description: 'What CloudSeed deploys and removes PostgreSQL with: exactly the actions its Azure provider uses.',
    Actions: [...AZURE_PROVIDER_ACTIONS],
    DataActions: [...AZURE_PROVIDER_DATA_ACTIONS],
    NotActions: [],
    AssignableScopes: groups,
  };
}

/** The az commands that connect a subscription: consent to CloudSeed's app, the backup group, the role, and its two assignments. */
export function azureConnectCommands(connection: AzureConnection, appId: string, region: string): SetupStep[] {
  check(connection, appId);
  if (!REGION.test(region)) throw new RangeError(`${JSON.stringify(region)} is not an Azure region`);
  const { subscriptionId, resourceGroup } = connection;
  const subscription = `--subscription ${subscriptionId}`;
  const scope = (group: string) => `/subscriptions/${subscriptionId}/resourceGroups/${group}`;
  const definition = JSON.stringify(azureDeployerRole(connection));
  const assign = (group: string) =>
    `az role assignment create ${subscription} --assignee ${appId} --role "${AZURE_DEPLOYER_ROLE}" --scope ${scope(group)}`;
  return [
    { summary: "Consent to CloudSeed's app in your tenant (this creates its service principal).", command: `az ad sp create --id ${appId}` },
    {
      summary: 'Create the resource groups: the one plans deploy into, and the one backups outlive plans in.',
      command: `az group create ${subscription} --name ${resourceGroup} --location ${region} && az group create ${subscription} --name ${BACKUP_RESOURCE_GROUP} --location ${region}`,
    },
    {
      summary: 'Create the role CloudSeed deploys with: exactly the actions it uses, on those two groups only.',
      command: `az role definition create ${subscription} --role-definition '${definition}'`,
    },
    { summary: 'Give CloudSeed that role on both groups.', command: `${assign(resourceGroup)} && ${assign(BACKUP_RESOURCE_GROUP)}` },
  ];
}
