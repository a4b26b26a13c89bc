// The AWS regions offered for a plan's target (the instance catalog's prices are us-east-1's).
export const AWS_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'sa-east-1',
] as const;

// Google Cloud regions offered for a plan's target (the machine catalog's prices are us-central1's).
export const GCP_REGIONS = [
  'us-central1',
  'us-east1',
  'us-east4',
  'us-west1',
  'us-west2',
  'northamerica-northeast1',
  'southamerica-east1',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-north1',
  'asia-east1',
  'asia-northeast1',
  'asia-south1',
  'asia-southeast1',
  'australia-southeast1',
] as const;

/** Zones every offered GCP region has (some have -d or -f as well). */
export const GCP_ZONE_LETTERS = ['a', 'b', 'c'] as const;

// Azure regions offered for a plan's target (the VM size catalog's prices are eastus's).
export const AZURE_REGIONS = [
  'eastus',
  'eastus2',
  'centralus',
  'westus2',
  'westus3',
  'canadacentral',
  'brazilsouth',
  'northeurope',
  'westeurope',
  'uksouth',
  'germanywestcentral',
  'francecentral',
  'swedencentral',
  'centralindia',
  'southeastasia',
  'japaneast',
  'australiaeast',
] as const;
