import type { ClusterEndpoint } from '../providers/provider.ts';
import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

/** Every node answers over TLS as the application role; then the cluster's load balancer, where the cloud has one, is brought to the nodes. */
export const handler = step('Verify', async (input: ComponentInput): Promise<{ endpoint?: ClusterEndpoint }> => {
  const { target, provider } = await componentContext(input);
  const nodes = required(input.nodes, 'the nodes');
  await provider.verify(target, nodes);
  const endpoint = await provider.ensureEndpoint(target, nodes);
  return endpoint ? { endpoint } : {};
});
