import { describe, expect, it } from 'vitest';
import type { DeployTarget, Provider } from '../../providers/provider.ts';

// What every Provider promises the workflow, whatever the cloud: each step can run again and
// converge on the same resources, and a teardown leaves nothing behind, twice over. Each cloud's
// test hands in its provider, a target for a fresh plan, and a way to list what the plan holds in
// that cloud right now.

export interface ProviderUnderTest {
  readonly provider: Provider;
  readonly target: DeployTarget;
  /** Everything the plan holds in the cloud (nodes, network, secrets), one line each, sorted. */
  readonly leftovers: () => Promise<string[]>;
}

export function describeProvider(name: string, setUp: () => Promise<ProviderUnderTest>): void {
  describe(`the ${name} provider's contract`, () => {
    it('keeps the password when ensurePassword runs again', async () => {
      const { provider, target } = await setUp();
      await provider.ensurePassword(target);
      const password = await provider.readPassword(target);
      await provider.ensurePassword(target);

      expect(await provider.readPassword(target)).toBe(password);
    });

    it('returns the same networkId when ensureSecurityGroup runs again', async () => {
      const { provider, target } = await setUp();
      const first = await provider.ensureSecurityGroup(target);

      expect(first.networkId).not.toBe('');
      expect(await provider.ensureSecurityGroup(target)).toEqual(first);
    });

    it('launches the nodes once when launchNodes runs again', async () => {
      const { provider, target, leftovers } = await setUp();
      const network = await provider.ensureSecurityGroup(target);
      const nodes = await provider.launchNodes(target, network);
      const launched = await leftovers();

      expect(nodes.map((node) => node.name)).toEqual(['db-0']);
      expect(await provider.launchNodes(target, network)).toEqual(nodes);
      expect(await leftovers()).toEqual(launched);
    });

    it('leaves nothing behind after destroy, and a second destroy changes nothing', async () => {
      const { provider, target, leftovers } = await setUp();
      await deployResources(provider, target);
      expect(await leftovers()).not.toEqual([]);

      await provider.destroy(target);
      expect(await leftovers()).toEqual([]);
      await provider.destroy(target);
      expect(await leftovers()).toEqual([]);
    });
  });
}

/** What a deployment creates before it runs commands: secrets, the network boundary and the nodes. */
async function deployResources(provider: Provider, target: DeployTarget): Promise<void> {
  await provider.ensurePassword(target);
  await provider.launchNodes(target, await provider.ensureSecurityGroup(target));
}
