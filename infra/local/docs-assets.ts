import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';

// Swagger UI's files for the API docs page (`GET /v1/docs` links to /docs-assets/...), served from
// the swagger-ui-dist package so the page works offline. Only the files listed at start are served,
// looked up by exact name: a path with `/`, `..` or an encoded separator can never reach the disk.

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

export interface DocsAssets {
  get(name: string): Promise<Asset | undefined>;
}

export async function docsAssets(): Promise<DocsAssets> {
  const directory = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const served = new Map<string, string>();
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (entry.isFile() && contentType !== undefined) served.set(entry.name, contentType);
  }
  const cache = new Map<string, Promise<Buffer>>();
  return {
    async get(name) {
      const contentType = served.get(name);
      if (contentType === undefined) return undefined;
      let body = cache.get(name);
      if (body === undefined) {
        body = readFile(join(directory, name));
        cache.set(name, body);
      }
      return { contentType, body: await body };
    },
  };
}
