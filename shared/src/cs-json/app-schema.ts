import * as z from 'zod';

// The `app` component: a service built from a git repository and run next to the plan's
// databases. What the repository holds is detected at build time (shared/src/apps/detect.ts);
// what is written here overrides it. A link to a database is data (`database.component`): the
// platform turns it into DATABASE_URL and PG* variables and a network rule that admits the app.

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const COMMIT = /^[0-9a-f]{7,40}$/;
const BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*@\{|.*\.lock$|.*\/$)[A-Za-z0-9._/-]{1,200}$/;
const RUNTIME_VERSION = /^\d{1,3}(?:\.\d{1,3}){0,2}$/;

/** Names the platform sets itself, or that would change how the runtime starts: refused in `env` and `secrets`. */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([
  'PORT',
  'DATABASE_URL',
  'PATH',
  'HOME',
  'USER',
  'SHELL',
  'PWD',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'PYTHONPATH',
  'PYTHONHOME',
  'VIRTUAL_ENV',
]);
const RESERVED_ENV_PREFIXES = ['PG', 'CLOUDSEED_', 'AWS_', 'ECS_'] as const;

export function reservedEnvName(name: string): string | undefined {
  if (RESERVED_ENV_NAMES.has(name)) return `${name} is set by CloudSeed`;
  const prefix = RESERVED_ENV_PREFIXES.find((candidate) => name.startsWith(candidate));
  return prefix === undefined ? undefined : `names starting with ${prefix} are set by CloudSeed or the runtime`;
}

const envName = z
  .string()
  .regex(ENV_NAME, 'must be a variable name: letters, digits and underscores, not starting with a digit')
  .superRefine((name, context) => {
    const reserved = reservedEnvName(name);
    if (reserved !== undefined) context.addIssue({ code: 'custom', message: reserved });
  });

/**
 * Where the code comes from. An https URL anywhere; a `file://` URL or an absolute path only on the
 * local target (checked with the target, in validate.ts). Credentials never sit in the URL.
 */
export const repoUrl = z
  .string()
  .min(1)
  .max(2048)
  .superRefine((text, context) => {
    const problem = repoUrlProblem(text);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  });

export type RepoLocation = { readonly kind: 'https'; readonly url: URL } | { readonly kind: 'local'; readonly path: string };

/** The repository URL as a location, or why it cannot be one. */
export function parseRepoUrl(text: string): RepoLocation | string {
  if (/[\s\0]/.test(text)) return 'must not contain spaces or control characters';
  if (text.startsWith('/')) {
    if (text.split('/').includes('..')) return 'must not contain .. segments';
    return { kind: 'local', path: text };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an https:// URL of a git repository (or, on the local target, a file:// URL or an absolute path)';
  }
  if (url.username !== '' || url.password !== '') return 'must not carry credentials; give the repository read access instead';
  if (url.protocol === 'file:') {
    const path = decodeURIComponent(url.pathname);
    if (url.host !== '' || path.split('/').includes('..')) return 'must be a file:// URL of an absolute path on this machine';
    return { kind: 'local', path };
  }
  if (url.protocol !== 'https:') return `must use https:// (${url.protocol.replace(/:$/, '')} is not offered)`;
  if (url.search !== '' || url.hash !== '') return 'must not carry a query or a fragment';
  return { kind: 'https', url };
}

function repoUrlProblem(text: string): string | undefined {
  const location = parseRepoUrl(text);
  return typeof location === 'string' ? location : undefined;
}

const relativeDir = z
  .string()
  .max(256)
  .regex(/^(?:[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)?$/, 'must be a relative directory of the repository, such as services/api')
  .refine((dir) => !dir.split('/').some((part) => part === '..' || part === '.'), 'must not contain . or .. segments');

const command = z
  .string()
  .min(1)
  .max(1024)
  .refine((text) => !/[\0\r\n]/.test(text), 'must be one line');

const sourceSchema = z.strictObject({
  repoUrl,
  branch: z.string().regex(BRANCH, 'must be a git branch name such as main').default('main'),
  /** A commit of the branch to deploy; without it, the branch's newest commit at each deploy. */
  commit: z.string().regex(COMMIT, 'must be a commit id: 7 to 40 lower-case hex digits').optional(),
  /** The directory of the repository that holds the app (a monorepo's service); the root without it. */
  rootDir: relativeDir.default(''),
});

export const appRuntimes = ['node', 'python'] as const;

const buildSchema = z.strictObject({
  /** Detected from the repository when left out (package.json: node; requirements.txt or pyproject.toml: python). */
  runtime: z.enum(appRuntimes).optional(),
  /** A major (node 24) or major.minor (python 3.11); what the machine has locally, the image's tag on AWS. */
  runtimeVersion: z.string().regex(RUNTIME_VERSION, 'must be a version such as 24 or 3.11').optional(),
  installCommand: command.optional(),
  buildCommand: command.optional(),
});

const runSchema = z.strictObject({
  /** Detected when left out: a Procfile's web line, package.json's start script or main, gunicorn, uvicorn or manage.py. */
  startCommand: command.optional(),
  /** Runs once per deploy before the new version takes traffic (migrations); a failure stops the deploy and keeps the old version serving. */
  releaseCommand: command.optional(),
  /** The port the app listens on, passed to it as PORT. */
  port: z.int().min(1024).max(65_535).default(8080),
});

const healthCheckSchema = z
  .strictObject({
    path: z
      .string()
      .max(256)
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'must be a path such as /healthz')
      .default('/'),
    /** Failures while the app starts do not count for this long. */
    startPeriodSeconds: z.int().min(0).max(300).default(30),
    intervalSeconds: z.int().min(5).max(300).default(5),
    timeoutSeconds: z.int().min(2).max(120).default(2),
  })
  .superRefine((check, context) => {
    if (check.timeoutSeconds >= check.intervalSeconds) {
      context.addIssue({ code: 'custom', path: ['timeoutSeconds'], message: 'must be shorter than intervalSeconds' });
    }
  });

/** Fargate's CPU units and the memory (MiB) each allows. */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: range(4096, 16_384, 1024),
  4096: range(8192, 30_720, 1024),
  8192: range(16_384, 61_440, 4096),
  16_384: range(32_768, 122_880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

const instancesSchema = z
  .strictObject({
    count: z.int().min(1).max(10).default(1),
    /** Fargate CPU units (1024 = one vCPU); locally it only sizes the cost estimate. */
    cpu: z.int().default(256),
    memoryMiB: z.int().default(512),
  })
  .superRefine((instances, context) => {
    const memories = FARGATE_SIZES[instances.cpu];
    if (memories === undefined) {
      context.addIssue({ code: 'custom', path: ['cpu'], message: `must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (Fargate CPU units)` });
    } else if (!memories.includes(instances.memoryMiB)) {
      context.addIssue({
        code: 'custom',
        path: ['memoryMiB'],
        message: `${instances.cpu} CPU units take ${memories[0]} to ${memories[memories.length - 1]} MiB in steps Fargate offers (${memories.slice(0, 4).join(', ')}…)`,
      });
    }
  });

export const appComponentFields = {
  type: z.literal('app'),
  source: sourceSchema,
  build: buildSchema.prefault({}),
  run: runSchema.prefault({}),
  healthCheck: healthCheckSchema.prefault({}),
  env: z
    .record(envName, z.string().max(4096))
    .default({})
    .refine((env) => Object.keys(env).length <= 100, 'holds at most 100 variables'),
  /** Names of secrets the app reads as variables; their values are set apart from the plan and never shown. */
  secrets: z
    .array(envName)
    .max(50)
    .default([])
    .refine((names) => new Set(names).size === names.length, 'must not repeat a name'),
  instances: instancesSchema.prefault({}),
  /** The plan's postgres component the app uses: it gets DATABASE_URL and PG* for it. */
  database: z.strictObject({ component: z.string().min(1).max(64) }).optional(),
};
