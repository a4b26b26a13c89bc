import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NODE_PORTS, reserveLoopbackPorts } from '../providers/local/ports.ts';

const ephemeral = async (): Promise<[number, number]> => {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const [low = 32768, high = 60999] = text.trim().split(/\s+/).map(Number);
  return [low, high];
};

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });

describe('node ports', () => {
  it('are distinct, free, outside the kernel ephemeral range and skip the ones already taken', async () => {
    const [low] = await ephemeral();
    const taken = new Set(Array.from({ length: 2000 }, (_, index) => NODE_PORTS.first + index));
    const ports = await reserveLoopbackPorts(12, taken);
    expect(ports).toHaveLength(12);
    expect(new Set(ports).size).toBe(12);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(NODE_PORTS.first);
      expect(port).toBeLessThanOrEqual(NODE_PORTS.last);
      expect(port).toBeLessThan(low);
      expect(taken.has(port)).toBe(false);
      expect(await bindable(port)).toBe(true);
    }
  });
});
