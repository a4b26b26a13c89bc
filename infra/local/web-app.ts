import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentSecurityPolicy, inlineScriptHashes } from '../lib/web-policy.ts';
import type { Asset } from './docs-assets.ts';

// The built web app (web/build), served as CloudFront serves it on AWS: files by path, the
// prerendered landing page at /, every other page path answered by the single-page app's
// fallback (200.html), with the same security headers.

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebAsset extends Asset {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface WebApp {
  /** Whether web/build exists; without it every page explains how to build it. */
  readonly built: boolean;
  get(path: string): Promise<WebAsset | undefined>;
}

const SPA_FALLBACK = '200.html';
export const WEB_BUILD_DIR = fileURLToPath(new URL('../../web/build', import.meta.url));

export async function webApp(buildDir: string, cognitoEndpoint: string): Promise<WebApp> {
  let root: string;
  try {
    root = await realpath(buildDir);
  } catch {
    return { built: false, get: () => Promise.resolve(notBuilt()) };
  }
  const securityHeaders = {
    'content-security-policy': contentSecurityPolicy(new URL(cognitoEndpoint).origin, inlineScriptHashes(root)),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
  };

  async function file(relative: string): Promise<WebAsset | undefined> {
    const contentType = CONTENT_TYPES[extname(relative)];
    if (contentType === undefined) return undefined;
    const absolute = join(root, relative);
    try {
      // Symlinks and `..` cannot lead out of the build directory.
      const real = await realpath(absolute);
      if (!real.startsWith(root + sep) || !(await stat(real)).isFile()) return undefined;
      const immutable = relative.startsWith('_app/immutable/');
      return {
        status: 200,
        contentType,
        body: await readFile(real),
        headers: { ...securityHeaders, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
      };
    } catch {
      return undefined;
    }
  }

  return {
    built: true,
    async get(path) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(path);
      } catch {
        return undefined;
      }
      if (decoded.includes('\0') || decoded.split('/').includes('..')) return undefined;
      const relative = decoded.replace(/^\/+/, '');
      if (relative === '') return file('index.html');
      const last = relative.split('/').pop() ?? '';
      // A path without an extension is a page of the app; anything else must be a file.
      if (!last.includes('.')) return (await file(join(relative, 'index.html'))) ?? file(SPA_FALLBACK);
      return file(relative);
    },
  };
}

function notBuilt(): WebAsset {
  const body = Buffer.from(
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>CloudSeed: web app not built</title>' +
      '<body style="font-family:system-ui;margin:3rem"><h1>The web app has not been built</h1>' +
      '<p>Run <code>npm run build</code> (or <code>npm run setup</code>) and reload. The API is up at <a href="/v1/docs">/v1/docs</a>.</p></body></html>',
  );
  return {
    status: 503,
    contentType: 'text/html; charset=utf-8',
    body,
    headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  };
}
