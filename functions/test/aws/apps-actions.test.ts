import { describe, expect, it } from 'vitest';
import { APP_ACTIONS_IMPLIED, AWS_APP_PROVIDER_ACTIONS, CUSTOMER_APP_ROLE_ACTIONS } from '../../providers/aws/actions.ts';
import { APP_ACTIONS_PROVEN } from './apps-fixtures.ts';

// Each apps test file proves that the actions listed for it in APP_ACTIONS_PROVEN are sent (its last
// test); with those IAM authorises as part of another call, they must be every action the customer
// role is asked for on behalf of apps.

describe('AWS_APP_PROVIDER_ACTIONS', () => {
  it('lists no action AwsAppProvider never sends, beyond the ones authorised as part of another call', () => {
    const proven = Object.values(APP_ACTIONS_PROVEN).flat();

    expect(new Set(proven).size).toBe(proven.length);
    expect(proven.filter((action) => APP_ACTIONS_IMPLIED.includes(action))).toEqual([]);
    expect([...proven, ...APP_ACTIONS_IMPLIED].sort()).toEqual([...AWS_APP_PROVIDER_ACTIONS].sort());
  });

  it('leaves the platform-side AssumeRole out of what the customer role needs', () => {
    expect(CUSTOMER_APP_ROLE_ACTIONS).not.toContain('sts:AssumeRole');
    expect(CUSTOMER_APP_ROLE_ACTIONS).toHaveLength(AWS_APP_PROVIDER_ACTIONS.length - 1);
  });
});
