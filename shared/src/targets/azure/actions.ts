// Every Azure RBAC action AzureProvider needs: what the customer's custom CloudSeed role will grant
// on the plan's resource group and on the backup resource group (cloudseed-backups, which holds the
// subscription's backup account). A test checks that every request the provider sends is one of
// them (the action is the request's method on the resource type in its URL).
//
// Some are not requests of their own but are checked as part of one (Azure's linked access checks):
//   Microsoft.Network/networkSecurityGroups/join/action     a subnet naming its security group
//   Microsoft.Network/virtualNetworks/subnets/join/action   a NIC or the load balancer's frontend in the subnet
//   Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action
//                                                            the vault's and the backup account's network rules naming it
//   Microsoft.Network/loadBalancers/backendAddressPools/join/action   a NIC joining the load balancer's pool
//   Microsoft.Network/networkInterfaces/join/action         a VM using its NIC
//   Microsoft.ManagedIdentity/userAssignedIdentities/assign/action    a VM given the component's identity
//   Microsoft.Compute/disks/write, Microsoft.Compute/disks/delete    the disks a VM creates, and deletes with it
//                                                            (disks/write is also a data disk grown on its own)
//   Microsoft.Network/networkInterfaces/delete               the NIC a VM deletes with it (deleteOption Delete)
//   Microsoft.Compute/locations/operations/read             following a compute operation (Azure-AsyncOperation)
//   Microsoft.Network/locations/operations/read             following a network operation

export const AZURE_PROVIDER_ACTIONS = [
  'Microsoft.Resources/subscriptions/read',
  'Microsoft.Resources/subscriptions/resourceGroups/read',
  'Microsoft.Network/networkSecurityGroups/read',
  'Microsoft.Network/networkSecurityGroups/write',
  'Microsoft.Network/networkSecurityGroups/delete',
  'Microsoft.Network/networkSecurityGroups/join/action',
  'Microsoft.Network/virtualNetworks/read',
  'Microsoft.Network/virtualNetworks/write',
  'Microsoft.Network/virtualNetworks/delete',
  'Microsoft.Network/virtualNetworks/subnets/read',
  'Microsoft.Network/virtualNetworks/subnets/write',
  'Microsoft.Network/virtualNetworks/subnets/delete',
  'Microsoft.Network/virtualNetworks/subnets/join/action',
  'Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action',
  'Microsoft.Network/networkInterfaces/read',
  'Microsoft.Network/networkInterfaces/write',
  'Microsoft.Network/networkInterfaces/delete',
  'Microsoft.Network/networkInterfaces/join/action',
  'Microsoft.Network/loadBalancers/read',
  'Microsoft.Network/loadBalancers/write',
  'Microsoft.Network/loadBalancers/delete',
  'Microsoft.Network/loadBalancers/backendAddressPools/join/action',
  'Microsoft.Network/locations/operations/read',
  'Microsoft.ManagedIdentity/userAssignedIdentities/read',
  'Microsoft.ManagedIdentity/userAssignedIdentities/write',
  'Microsoft.ManagedIdentity/userAssignedIdentities/delete',
  'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
  'Microsoft.Authorization/roleAssignments/read',
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.Authorization/roleAssignments/delete',
  'Microsoft.KeyVault/vaults/read',
  'Microsoft.KeyVault/vaults/write',
  'Microsoft.KeyVault/vaults/delete',
  'Microsoft.KeyVault/vaults/secrets/read',
  'Microsoft.KeyVault/vaults/secrets/write',
  'Microsoft.Storage/storageAccounts/read',
  'Microsoft.Storage/storageAccounts/write',
  'Microsoft.Storage/storageAccounts/blobServices/containers/read',
  'Microsoft.Storage/storageAccounts/blobServices/containers/write',
  // A download link of a backup: a user delegation key, which signs a SAS that reads that one blob.
  'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action',
  'Microsoft.Compute/virtualMachines/read',
  'Microsoft.Compute/virtualMachines/write',
  'Microsoft.Compute/virtualMachines/delete',
  'Microsoft.Compute/virtualMachines/runCommands/read',
  'Microsoft.Compute/virtualMachines/runCommands/write',
  'Microsoft.Compute/virtualMachines/deallocate/action',
  'Microsoft.Compute/virtualMachines/start/action',
  'Microsoft.Compute/disks/read',
  'Microsoft.Compute/disks/write',
  'Microsoft.Compute/disks/delete',
  'Microsoft.Compute/locations/operations/read',
] as const;

/**
 * The data actions (data plane) it needs: reading a secret back from the component's vault
 * (readPassword, readCaCertificate; writing them goes through ARM, vaults/secrets/write above), and
 * reading and removing the blobs of backups in the backup container (the manifests and fingerprints
 * the nodes store, a failed or expired backup). The nodes write the backups themselves.
 */
export const AZURE_PROVIDER_DATA_ACTIONS = [
  'Microsoft.KeyVault/vaults/secrets/getSecret/action',
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
  'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
] as const;

export type AzureProviderAction = (typeof AZURE_PROVIDER_ACTIONS)[number] | (typeof AZURE_PROVIDER_DATA_ACTIONS)[number];
