import { describe, expect, it } from 'vitest';
import { AWS_PROVIDER_ACTIONS, CUSTOMER_ROLE_ACTIONS } from '../../providers/aws/index.ts';
import { AWS_ACTIONS_PROVEN } from '../support/aws.ts';

// Each service's test file proves the actions listed for it in AWS_ACTIONS_PROVEN are sent (its last
// test); together they must be every action the customer role is asked for.

describe('AWS_PROVIDER_ACTIONS', () => {
  it('lists no API action the provider never sends, beyond the ones authorised as part of another call', () => {
    // s3:ListBucket is what makes HeadObject answer 404 rather than 403 for a backup that is gone.
    const impliedByOtherCalls = [
      'ec2:CreateTags',
      'iam:PassRole',
      'ssm:GetParameters',
      'ssm:AddTagsToResource',
      's3:ListBucket',
      'elasticloadbalancing:AddTags',
      'iam:CreateServiceLinkedRole',
    ];
    const proven = Object.values(AWS_ACTIONS_PROVEN).flat();

    expect(new Set(proven).size).toBe(proven.length);
    expect([...AWS_PROVIDER_ACTIONS].filter((action) => !impliedByOtherCalls.includes(action)).sort()).toEqual([...proven].sort());
  });

  it('leaves the platform-side AssumeRole out of what the customer role needs', () => {
    expect(CUSTOMER_ROLE_ACTIONS).not.toContain('sts:AssumeRole');
    expect(CUSTOMER_ROLE_ACTIONS).toHaveLength(AWS_PROVIDER_ACTIONS.length - 1);
  });
});
