import type { AwsComponent, Tag } from '@cloudseed/shared';
import type { Filter } from '@aws-sdk/client-ec2';
import type { AccountConnection, DeployTarget } from '../provider.ts';
import { PermanentError } from '../errors.ts';

// What the AWS provider reads from a deploy target: the customer's account, and the tags of the
// component's aws-json that every service finds its resources again by (cloudseed:plan-id,
// cloudseed:component, cloudseed:node).

export const TAG_PLAN_ID = 'cloudseed:plan-id';
const TAG_COMPONENT = 'cloudseed:component';
export const TAG_NODE = 'cloudseed:node';

export function accountOf(target: DeployTarget): AccountConnection {
  if (!target.account || 'cloud' in target.account) {
    throw new PermanentError(
      `plan ${target.planId} deploys to AWS but no AWS account is connected; connect the account (role ARN and ExternalId) and deploy again`,
    );
  }
  return target.account;
}

/** The rendered tags must name the plan and component the services look them up by. */
export function checkTags(target: DeployTarget, component: AwsComponent): void {
  const tagged = [...component.securityGroup.tags, ...component.nodes.flatMap((node) => node.tags)];
  const wrong = (key: string, value: string) =>
    tagged.filter((tag) => tag.Key === key).some((tag) => tag.Value !== value) || !tagged.some((tag) => tag.Key === key);
  if (wrong(TAG_PLAN_ID, target.planId) || wrong(TAG_COMPONENT, component.id)) {
    throw new PermanentError(`component ${component.id} was rendered for another plan or component than ${target.planId}/${component.id}`);
  }
  for (const node of component.nodes) {
    if (!node.tags.some((tag) => tag.Key === TAG_NODE && tag.Value === node.name))
      throw new PermanentError(`node ${node.name} is not tagged with its name`);
  }
}

export function isCluster(component: AwsComponent): boolean {
  return component.securityGroup.replicationBetweenNodes || component.nodes.length > 1;
}

/** The plan's own tags (cloudseed:managed, cloudseed:plan-id, cloudseed:component), for resources that have no rendered tags of their own. */
export function baseTags(component: AwsComponent): Tag[] {
  return component.securityGroup.tags.filter((tag) => tag.Key.startsWith('cloudseed:'));
}

export function componentFilters(target: DeployTarget): Filter[] {
  return [
    { Name: `tag:${TAG_PLAN_ID}`, Values: [target.planId] },
    { Name: `tag:${TAG_COMPONENT}`, Values: [target.component.id] },
  ];
}
