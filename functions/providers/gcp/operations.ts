import type { protos } from '@google-cloud/compute';
import { TransientError } from '../errors.ts';
import type { GcpContext } from './clients.ts';
import { call, operationError } from './errors.ts';

// Compute Engine answers a change with an Operation. The provider waits for the short ones (a
// network, a firewall rule, an instance being created: seconds) with the operations API's own
// `wait`, which holds the request open on Google's side for up to two minutes, and leaves the long
// ones (a node booting and its agent starting) to the workflow, which polls nodesReady in a state
// of its own.

type Operation = protos.google.cloud.compute.v1.IOperation;

/** How long a step waits for one operation before it leaves the rest to a retry. */
export const OPERATION_WAIT_MS = 4 * 60_000;

/** The last segment of a Compute Engine URL (`.../zones/europe-west4-a` → `europe-west4-a`). */
export function lastSegment(url: string | null | undefined): string | undefined {
  return url ? url.slice(url.lastIndexOf('/') + 1) : undefined;
}

/** What a client call that starts an operation returns: the operation is in `latestResponse`. */
export type Started = [{ readonly latestResponse: unknown }, ...unknown[]];

/** Starts a change and waits for its operation to be done; an operation that ended with errors throws them mapped (errors.ts). */
export async function change(context: GcpContext, action: string, start: () => Promise<Started>): Promise<void> {
  const [started] = await call(action, start);
  await waitFor(context, action, started.latestResponse as Operation);
}

export async function waitFor(context: GcpContext, what: string, operation: Operation): Promise<void> {
  const { clients, clock, project } = context;
  const deadline = clock.now() + OPERATION_WAIT_MS;
  let current = operation;
  while (current.status !== 'DONE') {
    if (clock.now() > deadline)
      throw new TransientError(`${what} is still running after ${OPERATION_WAIT_MS / 60_000} minutes (operation ${current.name})`);
    const name = current.name ?? '';
    const zone = lastSegment(current.zone);
    const region = lastSegment(current.region);
    const [next] = zone
      ? await call('compute.zoneOperations.wait', () => clients.zoneOperations.wait({ project, zone, operation: name }))
      : region
        ? await call('compute.regionOperations.wait', () => clients.regionOperations.wait({ project, region, operation: name }))
        : await call('compute.globalOperations.wait', () => clients.globalOperations.wait({ project, operation: name }));
    current = next;
  }
  if (current.error?.errors?.length) throw operationError(what, current.error);
}
