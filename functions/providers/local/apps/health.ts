import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import type { AppComponent } from '@cloudseed/shared';
import { listeningPorts } from './processes.ts';

// A new version takes traffic only once it answers its health check on 127.0.0.1 with a 2xx or
// 3xx. It fails fast, with a reason a customer can act on: it exited, it listens on another port
// than PORT, or its health check answered an error twice in a row. Failures to connect do not
// count while the start period lasts (as on ECS); after it, two more intervals, then it fails.

const POLL_MS = 200;
/** Answers that must fail in a row before the version is given up (the ALB's unhealthy threshold). */
const UNHEALTHY_THRESHOLD = 2;
const PORT_CHECK_MS = 1_000;
/** A server may open another port before PORT (an admin port, say); only one that stays alone for this long is the wrong port. */
const WRONG_PORT_GRACE_MS = 2_000;

export type Probe =
  | { readonly kind: 'ok'; readonly status: number }
  | { readonly kind: 'answer'; readonly status: number }
  | { readonly kind: 'refused'; readonly detail: string };

export function probe(port: number, path: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'CloudSeed-HealthCheck/1' } },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { kind: 'ok', status } : { kind: 'answer', status });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ kind: 'refused', detail: `did not answer within ${timeoutMs} ms` });
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'refused', detail: error.code ?? error.message }));
    req.end();
  });
}

export interface HealthWait {
  readonly child: ChildProcess;
  readonly port: number;
  readonly check: AppComponent['healthCheck'];
  /** The last lines the version wrote, for the reason of a failure. */
  readonly tail: () => string;
}

/** Waits until the version is healthy; throws an Error whose message is the reason when it is not. */
export async function waitHealthy({ child, port, check, tail }: HealthWait): Promise<void> {
  const started = Date.now();
  const deadline = started + (check.startPeriodSeconds + UNHEALTHY_THRESHOLD * check.intervalSeconds) * 1000;
  let failedAnswers = 0;
  let lastPortCheck = 0;
  let wrongSince: number | undefined;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${String(child.exitCode)}`;
      throw new Error(`the app ${how} before it was healthy${withTail(tail())}`);
    }
    const result = await probe(port, check.path, check.timeoutSeconds * 1000);
    if (result.kind === 'ok') return;
    if (result.kind === 'answer') {
      failedAnswers += 1;
      if (failedAnswers >= UNHEALTHY_THRESHOLD) throw new Error(`health check ${check.path} answered ${result.status}${withTail(tail())}`);
      await sleep(Math.min(check.intervalSeconds * 1000, 1000));
      continue;
    }
    failedAnswers = 0;
    // Listening, but not on PORT: no need to wait out the start period for that.
    if (child.pid !== undefined && Date.now() - lastPortCheck >= PORT_CHECK_MS) {
      lastPortCheck = Date.now();
      const ports = await listeningPorts(child.pid);
      if (ports.length > 0 && !ports.includes(port)) {
        wrongSince ??= Date.now();
        if (Date.now() - wrongSince >= WRONG_PORT_GRACE_MS) {
          throw new Error(`listening on ${ports.join(', ')}, PORT is ${port}: the app must listen on the port in PORT${withTail(tail())}`);
        }
      } else wrongSince = undefined;
    }
    if (Date.now() >= deadline) {
      const elsewhere = child.pid === undefined ? [] : (await listeningPorts(child.pid)).filter((other) => other !== port);
      const seconds = Math.round((Date.now() - started) / 1000);
      throw new Error(
        elsewhere.length > 0
          ? `listening on ${elsewhere.join(', ')}, PORT is ${port}: the app must listen on the port in PORT${withTail(tail())}`
          : `health check ${check.path} got no answer on PORT ${port} in ${seconds} s (${result.detail})${withTail(tail())}`,
      );
    }
    await sleep(POLL_MS);
  }
}

const withTail = (text: string): string => (text.trim() === '' ? '' : `; last output: ${text.trim()}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
