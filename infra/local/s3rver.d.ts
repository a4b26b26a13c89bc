declare module 's3rver' {
  import type { IncomingMessage } from 'node:http';

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
  export default class S3rver {
    constructor(options: S3rverOptions);
    middleware: ((context: MiddlewareContext, next: () => Promise<void>) => Promise<void>)[];
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
