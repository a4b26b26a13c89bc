import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { TransientError } from '../errors.ts';

// A node's port is chosen once, when it is launched, and kept in its node.json: clients and
// replicas rely on it across restarts. The kernel hands out free loopback ports; every port is
// held until all are chosen so that one call never gets the same port twice.

export async function reserveLoopbackPorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt += 1) {
      if (attempt > count + 100) throw new TransientError('could not find a free loopback port');
      const server = await listenOnAnyPort();
      held.push(server);
      const address = server.address();
      if (address === null || typeof address === 'string') continue;
      if (!taken.has(address.port)) ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}
