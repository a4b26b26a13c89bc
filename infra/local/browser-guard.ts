import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

// The emulators are for the local cloud's own SDK clients, which never send an Origin header and
// always address them by a loopback name. A request with an Origin comes from a web page (any
// site the user has open can send one to a loopback port), and one naming another host came
// through DNS rebinding; neither is answered.

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why a request to an emulator is refused, or undefined when it may go on. */
export function browserRefusal(headers: IncomingHttpHeaders): string | undefined {
  if (headers.origin !== undefined) return 'Requests from web pages are not accepted here.';
  const hostname = (headers.host ?? '').replace(/:\d+$/, '');
  if (!LOOPBACK_HOSTNAMES.has(hostname)) return 'Only requests addressed to a loopback name are accepted here.';
  return undefined;
}

/** A 403 with no CORS headers, so a browser shows the page nothing. */
export function refuse(response: ServerResponse, message: string): void {
  const body = JSON.stringify({ __type: 'AccessDeniedException', message });
  response.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
