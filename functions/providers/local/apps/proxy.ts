import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

// The app's stable address on the local cloud: a reverse proxy on a loopback port that forwards
// every request to the version that serves now. A rollout points it at the new version only once
// that one is healthy (switch), then waits until the old one has answered what it was sent (drain)
// before the old one is stopped, so that a deploy under load fails no request.

const LOOPBACK = '127.0.0.1';
/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization']);

interface Upstream {
  readonly port: number;
  readonly agent: Agent;
  inFlight: number;
  idle?: () => void;
}

export class AppProxy {
  readonly #server: Server;
  #upstream: Upstream | undefined;
  readonly #draining = new Set<Upstream>();
  #port = 0;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
    this.#server = createServer((req, res) => this.#forward(req, res));
    // Clients keep connections open across a switch: each request picks the upstream anew.
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Listens on the port (0: any free one; an app keeps the port it was given across restarts); answers it. */
  async listen(port: number): Promise<number> {
    this.#server.listen(port, LOOPBACK);
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** The version's port that takes requests now. */
  get upstreamPort(): number | undefined {
    return this.#upstream?.port;
  }

  /**
   * Sends every new request to the version on `port`; the one before it drains. Answers once the
   * previous version has no request in flight (or `drainMs` has passed): it may then be stopped.
   */
  async switchTo(port: number, drainMs = 30_000): Promise<void> {
    const previous = this.#upstream;
    if (previous?.port === port) return;
    this.#upstream = { port, agent: new Agent({ keepAlive: true, maxSockets: 256 }), inFlight: 0 };
    if (previous) await this.#drain(previous, drainMs);
  }

  /** Stops forwarding: requests are answered 503 until the next switch (the app is stopped or crashed). */
  async detach(drainMs = 0): Promise<void> {
    const previous = this.#upstream;
    this.#upstream = undefined;
    if (previous) await this.#drain(previous, drainMs);
  }

  async close(): Promise<void> {
    await this.detach();
    for (const upstream of this.#draining) upstream.agent.destroy();
    this.#server.closeAllConnections();
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #drain(upstream: Upstream, drainMs: number): Promise<void> {
    this.#draining.add(upstream);
    if (upstream.inFlight > 0) {
      const idle = new Promise<void>((resolve) => (upstream.idle = resolve));
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
      await Promise.race([idle, timeout]);
    }
    upstream.agent.destroy();
    this.#draining.delete(upstream);
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = this.#upstream;
    if (!upstream) {
      reply(res, 503, `${this.name} is not serving right now`);
      req.resume();
      return;
    }
    upstream.inFlight += 1;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      upstream.inFlight -= 1;
      if (upstream.inFlight === 0) upstream.idle?.();
    };
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const client = req.socket.remoteAddress ?? LOOPBACK;
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${client}` : client;
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
    const outgoing = request({ host: LOOPBACK, port: upstream.port, method: req.method, path: req.url, headers, agent: upstream.agent }, (answer) => {
      const answerHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
      answer.pipe(res);
      answer.on('end', done);
      answer.on('error', () => {
        done();
        res.destroy();
      });
    });
    outgoing.on('error', () => {
      done();
      if (!res.headersSent) reply(res, 502, `${this.name} did not answer`);
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
      done();
    });
    req.pipe(outgoing);
  }
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
  res.end(`${message}\n`);
}
