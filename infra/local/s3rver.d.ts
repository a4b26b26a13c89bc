declare module 's3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string; configs: unknown[] }[];
  }
  interface MiddlewareContext {
    req: IncomingMessage;
    type: string;
    body: unknown;
    method: string;
    path: string;
    query: Record<string, string | string[] | undefined>;
    status: number;
  }
  interface ListOptions {
    readonly delimiter?: string;
    readonly startAfter?: string;
    readonly prefix?: string;
    readonly maxKeys?: number;
  }
  /** The filesystem store behind the service (its listing is patched in s3.ts). */
  interface Store {
    listObjects(bucket: string, options: ListOptions): Promise<{ objects: unknown[]; commonPrefixes: string[]; isTruncated: boolean }>;
  }
  export default class S3rver {
    store: Store;
    constructor(options: S3rverOptions);
    middleware: ((context: MiddlewareContext, next: () => Promise<void>) => Promise<void>)[];
    run(): Promise<{ address: string; port: number }>;
    /** Koa's request listener: the same service on a server of one's own (the TLS one). */
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    close(): Promise<void>;
  }
}
