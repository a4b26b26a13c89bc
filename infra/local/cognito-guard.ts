// Preloaded into the cognito-local child (`node --import`), which has no shutdown logic of its own,
// no setting for its signing key and no setting for CORS.
//
// Its files hold users and their passwords in clear: nobody else may read them.
//
// cognito-local signs with the private key in its package (lib/keys/), which every copy shares, and
// answers every origin (`cors({ origin: '*' })`). Both are plain require()s inside the package, so
// this fills require's cache before cognito-local loads: its key modules hold the installation's
// key (CLOUDSEED_TOKEN_SIGNING_KEY_FILE, see keys.ts), and its `cors` lets through only the local
// cloud's own origins (CLOUDSEED_ALLOWED_ORIGINS) and refuses requests from any other page.
// Node documents require.cache as writable; nothing in node_modules is changed.
//
// cognito-local saves its user pools with an async fs.writeFile, which truncates the file before
// writing: a process killed mid-write left an empty or half-written pool, and two saves in flight
// at once interleaved their bytes; either way every user was gone. Saves here replace the file
// whole, one at a time, and on SIGTERM/SIGINT, or when the local cloud that started it disappears
// (the IPC channel closes, even if the parent was SIGKILLed), this exits once no save is in flight.
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { createRequire } from 'node:module';

process.umask(0o077);

const require = createRequire(import.meta.url);

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required: cognito-local must not start with its shipped key or open CORS`);
  return value;
}

/** Loads `path` through require and replaces what every later require of it gets. */
function substitute(path: string, exports: unknown): void {
  require(path);
  const cached = require.cache[path];
  if (cached === undefined) throw new Error(`${path} did not load`);
  cached.exports = exports;
}

const signingKey = JSON.parse(fs.readFileSync(requiredEnv('CLOUDSEED_TOKEN_SIGNING_KEY_FILE'), 'utf8')) as { jwk: { kid: string }; pem: string };
const publicKey = createPublicKey(signingKey.pem);
substitute(require.resolve('cognito-local/lib/keys/cognitoLocal.private.json'), signingKey);
substitute(require.resolve('cognito-local/lib/keys/cognitoLocal.public.json'), {
  jwk: { ...publicKey.export({ format: 'jwk' }), kid: signingKey.jwk.kid, alg: 'RS256', use: 'sig' },
  pem: publicKey.export({ format: 'pem', type: 'pkcs1' }),
});

type Middleware = (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void;
type Cors = (options?: Record<string, unknown>) => Middleware;
const allowedOrigins = requiredEnv('CLOUDSEED_ALLOWED_ORIGINS').split(',');
const corsPath = createRequire(require.resolve('cognito-local/lib/server/server.js')).resolve('cors');
const cors = require(corsPath) as Cors;
substitute(corsPath, ((options = {}) => {
  const allowing = cors({ ...options, origin: allowedOrigins });
  return (request, response, next) => {
    const origin = request.headers.origin;
    // A browser names the page's origin on every cross-origin request, preflight or not; a request
    // from another page is refused before cognito-local acts on it, not merely left unreadable.
    if (origin !== undefined && !allowedOrigins.includes(origin)) {
      response.writeHead(403, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'This origin may not call the local cloud.' }));
      return;
    }
    allowing(request, response, next);
  };
}) satisfies Cors);

type Callback = (...results: unknown[]) => void;
const patchable = fs as unknown as { writeFile: (...args: unknown[]) => void };
const writeFile = patchable.writeFile.bind(fs);

let pending = 0;
let stopping = false;

function exitWhenIdle(): void {
  if (stopping && pending === 0) process.exit(0);
}

// Every save replaces the file whole (a temporary file renamed over it), one save of a file at a
// time in the order they were asked for: two saves in flight at once no longer interleave their
// bytes, and a process killed mid-save leaves the previous file, never half of one.
const saves = new Map<string, Promise<unknown>>();
let saveNumber = 0;

async function replaceFile(path: string, data: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.${++saveNumber}.tmp`;
  try {
    await fs.promises.writeFile(temporary, data as string, { mode: 0o600 });
    await fs.promises.rename(temporary, path);
  } catch (error) {
    await fs.promises.rm(temporary, { force: true });
    throw error;
  }
}

patchable.writeFile = (...args: unknown[]) => {
  const callback = args.at(-1);
  const [path, data] = args;
  if (typeof callback !== 'function' || typeof path !== 'string') {
    writeFile(...args);
    return;
  }
  pending++;
  const saved = (saves.get(path) ?? Promise.resolve()).then(() => replaceFile(path, data));
  saves.set(
    path,
    saved.catch(() => undefined),
  );
  const done = (error: unknown) => {
    pending--;
    try {
      (callback as Callback)(error);
    } finally {
      exitWhenIdle();
    }
  };
  saved.then(
    () => done(null),
    (error: unknown) => done(error),
  );
};

function stop(): void {
  stopping = true;
  exitWhenIdle();
  setTimeout(() => process.exit(0), 2_000).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
