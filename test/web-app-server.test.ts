import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpAdapter } from '../infra/local/http-adapter.ts';
import type { HttpAdapter, PublicConfig } from '../infra/local/http-adapter.ts';
import { docsAssets } from '../infra/local/docs-assets.ts';
import { webApp } from '../infra/local/web-app.ts';
import { rawRequest } from './support/raw-http.ts';

// The local cloud serves web/build as CloudFront does: files, the landing page, the SPA fallback.

const BOOT = 'window.boot = 1;';
const bootHash = `'sha256-${createHash('sha256').update(BOOT).digest('base64')}'`;

describe('the web app in the local cloud', () => {
  let directory: string;
  let adapter: HttpAdapter;
  let url: string;
  const config: PublicConfig = {
    mode: 'local',
    region: 'local',
    userPoolId: 'pool',
    userPoolClientId: 'client',
    cognitoEndpoint: 'http://127.0.0.1:9229',
    apiBase: '',
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cloudseed-web-'));
    const build = join(directory, 'build');
    await mkdir(join(build, '_app', 'immutable', 'chunks'), { recursive: true });
    await writeFile(join(build, 'index.html'), `<!doctype html><title>landing</title><script>${BOOT}</script>`);
    await writeFile(join(build, '200.html'), `<!doctype html><title>app</title><script>${BOOT}</script>`);
    await writeFile(join(build, '_app', 'immutable', 'chunks', 'a1.js'), 'export const a = 1;');
    await writeFile(join(build, '_app', 'version.json'), '{"version":"1"}');
    await writeFile(join(directory, 'secret.txt'), 'outside');
    await symlink(join(directory, 'secret.txt'), join(build, 'leak.txt'));
    adapter = createHttpAdapter();
    url = `http://127.0.0.1:${await adapter.listen(0, '127.0.0.1')}`;
    adapter.serve({ routes: [], config, docs: await docsAssets(), web: await webApp(build, config.cognitoEndpoint) });
  });

  afterAll(async () => {
    await adapter.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('serves the prerendered landing page at / with the security headers', async () => {
    const response = await fetch(`${url}/`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>landing</title>');
  });

  it("allows the page's own inline script by hash and Cognito for sign-in, nothing else", async () => {
    const policy = (await fetch(`${url}/`)).headers.get('content-security-policy') ?? '';

    expect(policy).toContain(`script-src 'self' ${bootHash};`);
    expect(policy).toContain("connect-src 'self' http://127.0.0.1:9229;");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-eval');
  });

  it.each(['/plans', '/plans/3f1c/', '/login?next=%2Fplans'])('answers the page path %s with the single-page app', async (path) => {
    const response = await fetch(`${url}${path}`);

    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>app</title>');
  });

  it('serves hashed assets as immutable, with their content type', async () => {
    const response = await fetch(`${url}/_app/immutable/chunks/a1.js`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${url}/_app/version.json`)).headers.get('cache-control')).toBe('no-cache');
  });

  it.each([
    '/missing.js',
    '/_app/immutable/chunks/nope.js',
    '/leak.txt',
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/_app/..%2f..%2fsecret.txt',
    '/bad%zz.js',
  ])('answers %s with a 404 and never leaves the build directory', async (path) => {
    const response = await rawRequest(url, `GET ${path} HTTP/1.1\nHost: x\nConnection: close`);

    expect(response.status).toBe(404);
    expect(response.body.toString()).not.toContain('outside');
  });

  it('answers writes to page paths with 405', async () => {
    const response = await fetch(`${url}/plans`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('explains how to build the web app when it has not been built, and keeps the API up', async () => {
    const unbuilt = createHttpAdapter();
    const port = await unbuilt.listen(0, '127.0.0.1');
    unbuilt.serve({ routes: [], config, docs: await docsAssets(), web: await webApp(join(directory, 'no-build'), config.cognitoEndpoint) });
    try {
      const page = await fetch(`http://127.0.0.1:${port}/plans`);
      const api = await fetch(`http://127.0.0.1:${port}/v1/nothing`);

      expect(page.status).toBe(503);
      expect(await page.text()).toContain('npm run build');
      expect(api.status).toBe(404);
    } finally {
      await unbuilt.close();
    }
  });
});
