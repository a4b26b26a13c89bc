import * as z from 'zod';
import { findInstanceType } from '../targets/aws/instances.ts';
import type { FieldProblem } from '../errors.ts';
import { AMI_ID, API_VERSION, DEFAULT_PG_VERSION, pgVersions, planName } from './schema.ts';
import type { PlanInput, Target } from './schema.ts';
import { toProblems } from './problems.ts';

// The original spec's plan body:
//   { "os": "linux", "hardware": { "instance_type": "t3.medium", "storage": "ssd", "ami": "..." },
//     "db": { "flavor": "pg", "version": "15", "backup": "needed" } }
// It stays accepted forever and is turned into a cs-json document before validation.

export const shorthandSchema = z.strictObject({
  name: planName.optional(),
  os: z.enum(['linux', 'amazon-linux', 'ubuntu', 'debian'], { error: 'must be "linux", "amazon-linux", "ubuntu" or "debian"' }),
  hardware: z.strictObject({
    instance_type: z.string().max(32),
    storage: z.enum(['ssd'], { error: 'must be "ssd"' }).default('ssd'),
    storage_gib: z.int().min(8).max(16_384).optional(),
    ami: z.string().regex(AMI_ID, 'must be an AMI id such as ami-0123456789abcdef0').optional(),
  }),
  db: z.strictObject({
    flavor: z.enum(['pg', 'postgres', 'postgresql'], { error: 'must be "pg"' }),
    version: z.enum(pgVersions, { error: `must be one of ${pgVersions.join(', ')}` }).default(DEFAULT_PG_VERSION),
    backup: z.enum(['needed', 'not_needed'], { error: 'must be "needed" or "not_needed"' }).default('needed'),
  }),
});

const OS_BY_SHORTHAND = {
  linux: { name: 'amazon-linux', version: '2023' },
  'amazon-linux': { name: 'amazon-linux', version: '2023' },
  ubuntu: { name: 'ubuntu', version: '24.04' },
  debian: { name: 'debian', version: '12' },
} as const;

export function isShorthand(input: unknown): input is Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return false;
  if ('apiVersion' in input || 'components' in input) return false;
  return 'db' in input || 'hardware' in input || typeof (input as { os?: unknown }).os === 'string';
}

export function shorthandToPlan(input: unknown, target: Target): { ok: true; document: PlanInput } | { ok: false; errors: FieldProblem[] } {
  const parsed = shorthandSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: toProblems(parsed.error.issues) };
  const { hardware, db, os } = parsed.data;
  const instance = findInstanceType(hardware.instance_type);
  if (!instance) {
    return { ok: false, errors: [{ path: '/hardware/instance_type', message: `${hardware.instance_type} is not in the instance catalog` }] };
  }
  const document: PlanInput = {
    apiVersion: API_VERSION,
    name: parsed.data.name ?? `postgres-${db.version}`,
    target,
    components: [
      {
        id: 'db',
        type: 'postgres',
        os: OS_BY_SHORTHAND[os],
        hardware: {
          storage: { type: hardware.storage, ...(hardware.storage_gib === undefined ? {} : { sizeGiB: hardware.storage_gib }) },
          aws: { instanceType: instance.name, ...(hardware.ami === undefined ? {} : { ami: hardware.ami }) },
        },
        db: { engine: 'postgres', version: db.version, backup: { enabled: db.backup === 'needed' } },
      },
    ],
  };
  return { ok: true, document };
}

const SHORTHAND_PATHS: readonly [string, string][] = [
  ['/components/0/hardware/aws/instanceType', '/hardware/instance_type'],
  ['/components/0/hardware/aws/ami', '/hardware/ami'],
  ['/components/0/hardware/storage/sizeGiB', '/hardware/storage_gib'],
  ['/components/0/hardware', '/hardware'],
  ['/components/0/os', '/os'],
  ['/components/0/db/backup', '/db/backup'],
  ['/components/0/db/version', '/db/version'],
  ['/target', '/'],
  ['/name', '/name'],
];

/** Reports a problem found after conversion at the place the caller wrote it. */
export function shorthandPath(path: string): string {
  const match = SHORTHAND_PATHS.find(([from]) => path === from || path.startsWith(`${from}/`));
  return match ? match[1] : '/';
}
