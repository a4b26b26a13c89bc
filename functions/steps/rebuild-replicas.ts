import { componentContext, nodeRefOf, required } from './context.ts';
import type { RestoreInput } from './restore.ts';
import { step } from './step.ts';

/** Clones every replica again from the restored primary: they followed the history the restore left. */
export const handler = step('RebuildReplicas', async (input: RestoreInput) => {
  const request = required(input.restore, 'the restore request');
  const { deployment, target, provider } = await componentContext({ ...input, componentId: request.componentId });
  const nodes = deployment.components?.find((component) => component.id === request.componentId)?.nodes ?? [];
  const primary = nodes.find((node) => node.role === 'primary');
  if (!primary) throw new Error(`component ${request.componentId} has no primary`);
  const replicas = nodes.filter((node) => node.role === 'replica').map(nodeRefOf);
  if (replicas.length > 0) await provider.rebuildReplicas(target, nodeRefOf(primary), replicas);
  return { rebuilt: replicas.length };
});
