import { createServer } from 'node:net';
import type { Server as NetServer } from 'node:net';

/** Loopback: every emulator listens here, whatever HOST the adapter serves on. */
export const LOOPBACK = '127.0.0.1';

/** Starts `server` listening and resolves with the port it got (port 0 asks the OS for a free one). */
export function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('server is not listening on a TCP port'));
      else resolve(address.port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * A port that was free a moment ago, for a child process that must be told its port up front.
 * Another process may take it in between; callers that can retry should.
 */
export async function freePort(host = LOOPBACK): Promise<number> {
  const probe = createServer();
  const port = await listen(probe, 0, host);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface ClosableServer extends NetServer {
  closeIdleConnections?: () => void;
  closeAllConnections?: () => void;
}

/**
 * Stops accepting, lets requests in flight finish for up to `graceMs`, then drops every connection,
 * so keep-alive clients cannot hold the close open.
 */
export function closeServer(server: ClosableServer, graceMs = 0): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const timer = setTimeout(() => server.closeAllConnections?.(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections?.();
  });
}

/** `http://host:port`, with IPv6 hosts bracketed. */
export function origin(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
