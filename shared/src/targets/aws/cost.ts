import type { PostgresComponent } from '../../cs-json/schema.ts';
import { nodeCount } from '../../postgres/nodes.ts';
import { cheapestFit, findInstanceType, monthlyCost, withLoadBalancer } from './instances.ts';
import { usesPatroni } from './patroni.ts';
import type { CostEstimate, InstanceType } from './instances.ts';

// What a component costs on AWS, and which instance type it runs on: questions the editor asks in the
// browser, so this module reaches nothing of the node scripts (sh/ is read from disk).

export function instanceTypeFor(component: PostgresComponent): InstanceType {
  const hint = component.hardware.aws?.instanceType;
  const instance = hint === undefined ? cheapestFit(component.hardware) : findInstanceType(hint);
  if (!instance) throw new RangeError(`no catalog instance type fits component ${component.id}`);
  return instance;
}

export function componentCost(component: PostgresComponent): CostEstimate {
  const nodes = monthlyCost(instanceTypeFor(component), component.hardware.storage.sizeGiB, nodeCount(component));
  // A cluster that fails over by itself has an internal Network Load Balancer in front of it.
  return usesPatroni(component) ? withLoadBalancer(nodes) : nodes;
}
