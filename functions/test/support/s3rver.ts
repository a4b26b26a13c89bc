import { createRequire } from 'node:module';

// s3rver is CommonJS without types; this is the part of it the provider tests use: a bucket on a
// free loopback port, and its Koa middleware list for tests that stand in for routes it lacks.

export interface KoaContext {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  status: number;
  type: string;
  body: unknown;
}
export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

export interface S3rverServer {
  readonly middleware: Middleware[];
  run(): Promise<{ readonly port: number }>;
  close(): Promise<void>;
}

type S3rverConstructor = new (options: {
  readonly port: number;
  readonly address: string;
  readonly directory: string;
  readonly silent: boolean;
  readonly configureBuckets: readonly { readonly name: string; readonly configs: readonly string[] }[];
}) => S3rverServer;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** An s3rver keeping `bucket` under `directory`, on loopback; not yet running. */
export function newS3rver(directory: string, bucket: string): S3rverServer {
  return new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
}
