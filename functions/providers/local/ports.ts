import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { TransientError } from '../errors.ts';

// A node's port is chosen once, when it is launched, and kept in its node.json: clients and
// replicas rely on it across restarts. Ports come from below the operating systems' ephemeral
// ranges (Linux 32768–60999, macOS and Windows 49152–65535): while a node is stopped, no client
// socket and no service listening on port 0 can be handed its port. A candidate counts only once
// it binds; every port is held until all are chosen so that one call never gets the same port twice.

export const NODE_PORTS = { first: 20000, last: 32767 } as const;

export async function reserveLoopbackPorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt += 1) {
      if (attempt > count + 200) throw new TransientError('could not find a free loopback port');
      const candidate = randomInt(NODE_PORTS.first, NODE_PORTS.last + 1);
      if (taken.has(candidate) || ports.includes(candidate)) continue;
      const server = await listenOn(candidate);
      if (!server) continue;
      held.push(server);
      ports.push(candidate);
    }
    return ports;
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** The server bound to the port, or undefined when something else holds it. */
function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}
