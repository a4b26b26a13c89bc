import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Milliseconds from connecting to the end of the response. */
  readonly elapsedMs: number;
}

/**
 * Sends bytes exactly as given (no URL normalisation, no body framing) and reads the response
 * until the server closes the connection, or until `Content-Length` bytes of body have arrived.
 * For what fetch will not send: `..` in paths, lying Content-Length, repeated headers.
 */
export function rawRequest(url: string, head: string, body: Buffer | string = '', timeoutMs = 5_000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      const parsed = error === undefined ? parse(Buffer.concat(chunks), Date.now() - started) : undefined;
      if (error === undefined && parsed === undefined) return; // not complete yet
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (parsed !== undefined) resolve(parsed);
      else reject(error ?? new Error('no response'));
    };
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      finish();
    });
    socket.on('end', () =>
      finish(
        parse(Buffer.concat(chunks), Date.now() - started) === undefined ? new Error('the connection closed before a complete response') : undefined,
      ),
    );
    socket.on('error', (error) => {
      // The server may reset a connection it refused the rest of the body on; a complete response
      // that arrived first still counts.
      const parsed = parse(Buffer.concat(chunks), Date.now() - started);
      if (parsed === undefined) finish(error);
      else finish();
    });
    socket.write(head.replaceAll(/\r?\n/g, '\r\n') + '\r\n\r\n');
    if (body.length > 0) socket.write(body);
  });
}

function parse(data: Buffer, elapsedMs: number): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = data.subarray(end + 4);
  const length = Number(headers['content-length'] ?? Number.NaN);
  if (Number.isNaN(length) || body.length < length) return undefined;
  return { status, headers, body: body.subarray(0, length), elapsedMs };
}
