import type { PostgresComponent } from '../cs-json/schema.ts';
import type { MachineRequest } from './machines.ts';
import type { CostEstimate, Machine } from './machines.ts';
import { componentCost, instanceTypeFor } from './aws/cost.ts';
import { cheapestFit, findInstanceType, instanceTypes } from './aws/instances.ts';
import { gcpComponentCost, gcpMachineFor } from './gcp/cost.ts';
import { cheapestGcpFit, findGcpMachineType, gcpMachineTypes } from './gcp/machine-types.ts';
import { azureComponentCost, azureVmSizeFor } from './azure/cost.ts';
import { azureVmSizes, cheapestAzureFit, findAzureVmSize } from './azure/vm-sizes.ts';

// Each cloud's catalog behind one shape: what validation checks a hint against, what the editor
// prices a component with, and how the dashboard compares clouds. Nothing here reads a file, so
// the browser imports it too.

export interface MachineCatalog {
  /** The cloud's name as a customer reads it. */
  readonly label: string;
  /** What the cloud calls one of its sizes. */
  readonly noun: string;
  /** Said in "… is not in the <catalogName> catalog". */
  readonly catalogName: string;
  /** Every size, grouped by family in catalog order. */
  readonly machines: readonly Machine[];
  /** Where the component names one of this cloud's sizes, under `hardware/`. */
  readonly hintField: string;
  hint(component: { readonly hardware: Pick<PostgresComponent['hardware'], 'aws' | 'gcp' | 'azure'> }): string | undefined;
  find(name: string): Machine | undefined;
  cheapestFit(request: MachineRequest): Machine | undefined;
  /** The size a normalised component runs on: its hint, else the cheapest that fits. */
  machineFor(component: PostgresComponent): Machine;
  cost(component: PostgresComponent): CostEstimate;
}

export type PricedCloud = 'aws' | 'gcp' | 'azure';

export const machineCatalogs: { readonly [Cloud in PricedCloud]: MachineCatalog } = {
  aws: {
    label: 'AWS',
    noun: 'instance type',
    catalogName: 'instance',
    machines: instanceTypes,
    hintField: 'aws/instanceType',
    hint: (component) => component.hardware.aws?.instanceType,
    find: findInstanceType,
    cheapestFit: (request) => cheapestFit(request),
    machineFor: instanceTypeFor,
    cost: componentCost,
  },
  gcp: {
    label: 'Google Cloud',
    noun: 'machine type',
    catalogName: 'Compute Engine machine type',
    machines: gcpMachineTypes,
    hintField: 'gcp/machineType',
    hint: (component) => component.hardware.gcp?.machineType,
    find: findGcpMachineType,
    cheapestFit: cheapestGcpFit,
    machineFor: (component) => gcpMachineFor(component).machine,
    cost: gcpComponentCost,
  },
  azure: {
    label: 'Azure',
    noun: 'VM size',
    catalogName: 'Azure VM size',
    machines: azureVmSizes,
    hintField: 'azure/vmSize',
    hint: (component) => component.hardware.azure?.vmSize,
    find: findAzureVmSize,
    cheapestFit: cheapestAzureFit,
    machineFor: (component) => azureVmSizeFor(component).machine,
    cost: azureComponentCost,
  },
};

/** The catalog a plan's target prices against: its own cloud's, or AWS's for the local cloud (what it would cost there). */
export function catalogFor(cloud: PricedCloud | 'local'): MachineCatalog {
  return machineCatalogs[cloud === 'local' ? 'aws' : cloud];
}

/** The hardware of a component with `name` as its hint on `cloud` (undefined: no hint, size by vCPUs and memory). */
export function withMachineHint<Hardware extends Pick<PostgresComponent['hardware'], 'aws' | 'gcp' | 'azure'>>(
  hardware: Hardware,
  cloud: PricedCloud,
  name: string | undefined,
): Hardware {
  const { aws, gcp, azure, ...rest } = hardware;
  const hints = {
    aws: cloud === 'aws' ? drop({ ...aws, instanceType: name }) : aws,
    gcp: cloud === 'gcp' ? drop({ ...gcp, machineType: name }) : gcp,
    azure: cloud === 'azure' ? drop({ ...azure, vmSize: name }) : azure,
  };
  return {
    ...rest,
    ...(hints.aws ? { aws: hints.aws } : {}),
    ...(hints.gcp ? { gcp: hints.gcp } : {}),
    ...(hints.azure ? { azure: hints.azure } : {}),
  } as Hardware;
}

/** The object without its undefined fields; undefined when none is left. */
function drop<T extends object>(hint: T): T | undefined {
  const entries = Object.entries(hint).filter(([, value]) => value !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined;
}
