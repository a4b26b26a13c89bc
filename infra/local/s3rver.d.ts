declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string; configs: unknown[] }[];
  }
  interface MiddlewareContext {
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
