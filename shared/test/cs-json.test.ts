import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ValidationFailed,
  checkBackupInterval,
  checkCidr,
  checkCron,
  componentById,
  databaseComponent,
  planJsonSchema,
  postgresComponents,
  toScheduleExpression,
  validatePlan,
} from '../src/index.ts';
import type { FieldProblem, Plan } from '../src/index.ts';

const designExample = {
  apiVersion: 'cs/v1',
  name: 'orders',
  target: { cloud: 'local' },
  components: [
    {
      id: 'db',
      type: 'postgres',
      position: { x: 240, y: 120 },
      os: { name: 'amazon-linux', version: '2023' },
      hardware: { cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 }, aws: { instanceType: 't3.medium' } },
      db: {
        engine: 'postgres',
        version: '15',
        maxConnections: 100,
        workload: 'web',
        topology: { mode: 'single', replicas: 0 },
        backup: { enabled: true, schedule: '0 3 * * *', retentionDays: 7, validate: true },
      },
      network: { allowedCidrs: ['203.0.113.0/24'] },
    },
  ],
};

const minimal = { apiVersion: 'cs/v1', name: 'orders', components: [{ id: 'db', type: 'postgres' }] };

/** A copy of `minimal` whose one component has `patch` applied under `section`. */
function withComponent(patch: Record<string, unknown>): Record<string, unknown> {
  return { ...minimal, components: [{ id: 'db', type: 'postgres', ...patch }] };
}

function expectValid(input: unknown): Plan {
  const result = validatePlan(input);
  if (!result.ok) throw new Error(`expected a valid plan, got ${JSON.stringify(result.errors)}`);
  return result.plan;
}

function problemsOf(input: unknown): FieldProblem[] {
  const result = validatePlan(input);
  if (result.ok) throw new Error('expected problems, the plan validated');
  return result.errors;
}

function pathsOf(input: unknown): string[] {
  return problemsOf(input).map((problem) => problem.path);
}

describe('cs-json v1 documents', () => {
  it('accepts the design example unchanged and fills the fields it leaves out', () => {
    const plan = expectValid(designExample);
    const component = postgresComponents(plan)[0]!;
    expect(component.hardware).toEqual({ cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 }, aws: { instanceType: 't3.medium' } });
    expect(component.db).toMatchObject({ version: '15', dataSize: 'mid_ram', databaseName: 'app', username: 'app' });
    expect(component.db.backup).toEqual({
      enabled: true,
      schedule: '0 3 * * *',
      timezone: 'UTC',
      retentionDays: 7,
      validate: true,
      fullEveryDays: 7,
      incrementalEveryHours: 4,
    });
  });

  it('fills every default of a minimal plan', () => {
    const plan = expectValid(minimal);
    expect(plan).toEqual({
      apiVersion: 'cs/v1',
      name: 'orders',
      target: { cloud: 'local' },
      components: [
        {
          id: 'db',
          type: 'postgres',
          position: { x: 80, y: 80 },
          os: { name: 'amazon-linux', version: '2023' },
          hardware: { cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 } },
          db: {
            engine: 'postgres',
            version: '17',
            maxConnections: 100,
            workload: 'web',
            dataSize: 'mid_ram',
            databaseName: 'app',
            username: 'app',
            topology: { mode: 'single', replicas: 0, synchronous: false },
            backup: {
              enabled: true,
              schedule: '0 3 * * *',
              timezone: 'UTC',
              retentionDays: 7,
              validate: true,
              fullEveryDays: 7,
              incrementalEveryHours: 4,
            },
          },
          network: { allowedCidrs: [] },
        },
      ],
    });
  });

  it('normalises idempotently: a normalised plan validates to itself', () => {
    const once = expectValid(designExample);
    expect(expectValid(once)).toEqual(once);
  });

  it('takes cpus and memory from the instance type hint', () => {
    const plan = expectValid(withComponent({ hardware: { aws: { instanceType: 'r7g.xlarge' } } }));
    expect(postgresComponents(plan)[0]!.hardware).toMatchObject({ cpus: 4, memoryGiB: 32, aws: { instanceType: 'r7g.xlarge' } });
  });

  it('reports every problem at once, each with its JSON-pointer path', () => {
    const problems = problemsOf({
      apiVersion: 'cs/v2',
      name: '',
      components: [
        {
          id: 'Db',
          type: 'postgres',
          hardware: { storage: { sizeGiB: 4 } },
          db: { maxConnections: 20_000, version: '12' },
          network: { allowedCidrs: ['10.0.0.1/24'] },
          colour: 'red',
        },
      ],
    });
    expect(problems.map((problem) => problem.path)).toEqual(
      expect.arrayContaining([
        '/apiVersion',
        '/name',
        '/components/0/id',
        '/components/0/hardware/storage/sizeGiB',
        '/components/0/db/maxConnections',
        '/components/0/db/version',
        '/components/0/network/allowedCidrs/0',
        '/components/0/colour',
      ]),
    );
    expect(problems).toHaveLength(8);
    expect(problems.find((problem) => problem.path === '/components/0/colour')?.message).toBe('is not a known field');
    expect(problems.find((problem) => problem.path === '/components/0/network/allowedCidrs/0')?.message).toBe(
      'has host bits set; did you mean 10.0.0.0/24?',
    );
  });

  it('names missing required fields', () => {
    expect(problemsOf({ apiVersion: 'cs/v1' })).toEqual([
      { path: '/name', message: 'is required' },
      { path: '/components', message: 'is required' },
    ]);
  });

  it.each([
    ['a string', 'plan'],
    ['an array', []],
    ['null', null],
    ['a number', 7],
  ])('rejects %s as the whole document', (_label, input) => {
    expect(pathsOf(input)).toContain('/');
  });

  it('treats prototype-pollution keys as unknown fields and pollutes nothing', () => {
    const input: unknown = JSON.parse(
      '{"apiVersion":"cs/v1","name":"x","components":[{"id":"db","type":"postgres","__proto__":{"polluted":true}}],"constructor":{"prototype":{"polluted":true}}}',
    );
    expect(pathsOf(input).sort()).toEqual(['/components/0/__proto__', '/constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('escapes JSON-pointer special characters in unknown field names', () => {
    expect(pathsOf({ ...minimal, 'a/b~c': 1 })).toEqual(['/a~1b~0c']);
  });
});

describe('real-world limits', () => {
  it.each([
    [{ hardware: { storage: { sizeGiB: 7 } } }, '/components/0/hardware/storage/sizeGiB'],
    [{ hardware: { storage: { sizeGiB: 16_385 } } }, '/components/0/hardware/storage/sizeGiB'],
    [{ hardware: { storage: { sizeGiB: 20.5 } } }, '/components/0/hardware/storage/sizeGiB'],
    [{ hardware: { storage: { type: 'floppy' } } }, '/components/0/hardware/storage/type'],
    [{ hardware: { cpus: 0 } }, '/components/0/hardware/cpus'],
    [{ hardware: { memoryGiB: 0.25 } }, '/components/0/hardware/memoryGiB'],
    [{ db: { maxConnections: 4 } }, '/components/0/db/maxConnections'],
    [{ db: { maxConnections: 10_001 } }, '/components/0/db/maxConnections'],
    [{ db: { maxConnections: '100' } }, '/components/0/db/maxConnections'],
    [{ db: { version: '12' } }, '/components/0/db/version'],
    [{ db: { version: '19' } }, '/components/0/db/version'],
    [{ db: { version: 16 } }, '/components/0/db/version'],
    [{ db: { workload: 'batch' } }, '/components/0/db/workload'],
    [{ db: { username: 'postgres' } }, '/components/0/db/username'],
    [{ db: { username: 'pg_monitor' } }, '/components/0/db/username'],
    [{ db: { databaseName: 'App' } }, '/components/0/db/databaseName'],
    [{ db: { databaseName: 'app; DROP TABLE x' } }, '/components/0/db/databaseName'],
    [{ db: { topology: { mode: 'single', replicas: 1 } } }, '/components/0/db/topology/replicas'],
    [{ db: { topology: { mode: 'cluster', replicas: 0 } } }, '/components/0/db/topology/replicas'],
    [{ db: { topology: { mode: 'cluster', replicas: 6 } } }, '/components/0/db/topology/replicas'],
    [{ db: { topology: { mode: 'single', synchronous: true } } }, '/components/0/db/topology/synchronous'],
    [{ db: { topology: { mode: 'cluster', replicas: 1, synchronous: 'yes' } } }, '/components/0/db/topology/synchronous'],
    [{ db: { backup: { retentionDays: 0 } } }, '/components/0/db/backup/retentionDays'],
    [{ db: { backup: { timezone: 'Mars/Olympus' } } }, '/components/0/db/backup/timezone'],
    [{ db: { backup: { schedule: '0 3 * *' } } }, '/components/0/db/backup/schedule'],
    [{ os: { name: 'windows', version: '2022' } }, '/components/0/os/name'],
    [{ os: { name: 'ubuntu', version: '22.04' } }, '/components/0/os/version'],
    [{ os: { name: 'amazon-linux', version: '2023' }, db: { version: '14' } }, '/components/0/db/version'],
    [{ position: { x: -1, y: 0 } }, '/components/0/position/x'],
  ])('rejects %j at %s', (patch, path) => {
    expect(pathsOf(withComponent(patch))).toEqual([path]);
  });

  it.each([
    [{ hardware: { storage: { sizeGiB: 8 } } }],
    [{ hardware: { storage: { sizeGiB: 16_384 } } }],
    [{ db: { maxConnections: 5 } }],
    [{ db: { maxConnections: 10_000 } }],
    [{ db: { version: '13' }, os: { name: 'debian', version: '12' } }],
    [{ db: { version: '18' } }],
    [{ db: { topology: { mode: 'cluster', replicas: 5 } } }],
    [{ db: { backup: { timezone: 'Europe/Berlin' } } }],
  ])('accepts the boundary %j', (patch) => {
    expect(validatePlan(withComponent(patch)).ok).toBe(true);
  });

  it('holds 1 to 20 components with unique ids', () => {
    expect(pathsOf({ ...minimal, components: [] })).toEqual(['/components']);
    const many = Array.from({ length: 21 }, (_, index) => ({ id: `db${index}`, type: 'postgres' }));
    expect(pathsOf({ ...minimal, components: many })).toEqual(['/components']);
    expectValid({ ...minimal, components: many.slice(0, 20) });
    expect(
      problemsOf({
        ...minimal,
        components: [
          { id: 'db', type: 'postgres' },
          { id: 'db', type: 'postgres' },
        ],
      }),
    ).toEqual([{ path: '/components/1/id', message: 'duplicates the id of /components/0' }]);
  });

  it.each(['a', 'orders', 'Orders DB 2', 'a.b_c-d', 'x'.repeat(63)])('accepts the plan name %j', (name) => {
    expect(expectValid({ ...minimal, name }).name).toBe(name);
  });

  it.each(['', ' orders', 'orders ', 'x'.repeat(64), 'a;rm -rf /', 'a\nb', "o'brien", 'a$(id)', 'naïve', '-orders'])(
    'rejects the plan name %j',
    (name) => {
      expect(pathsOf({ ...minimal, name })).toEqual(['/name']);
    },
  );

  it('knows postgres and app components in v1', () => {
    expect(problemsOf(withComponent({ type: 'app-service' }))).toEqual([
      { path: '/components/0/type', message: 'must be "postgres" or "app" (the component types in cs/v1)' },
    ]);
  });

  it('names the accepted kinds at /type when a component has no type, and checks the other components as usual', () => {
    const problems = problemsOf({
      ...minimal,
      components: [{ id: 'db' }, { id: 'analytics', type: 'postgres', db: { maxConnections: 1 } }],
    });
    expect(problems).toEqual([
      { path: '/components/0/type', message: 'must be "postgres" or "app" (the component types in cs/v1)' },
      { path: '/components/1/db/maxConnections', message: 'Too small: expected number to be >=5' },
    ]);
  });
});

describe('components addressed by id', () => {
  const plan = expectValid({
    ...minimal,
    components: [
      { id: 'orders', type: 'postgres', db: { databaseName: 'orders' } },
      { id: 'analytics', type: 'postgres', db: { databaseName: 'analytics' } },
    ],
  });

  it('finds a component by its id, whatever its place in the plan', () => {
    expect(componentById({ components: postgresComponents(plan) }, 'analytics')?.db.databaseName).toBe('analytics');
    expect(componentById({ components: postgresComponents(plan) }, 'orders')?.db.databaseName).toBe('orders');
    expect(componentById(plan, 'nope')).toBeUndefined();
  });

  it('lists the postgres components in plan order', () => {
    expect(postgresComponents(plan).map((component) => component.id)).toEqual(['orders', 'analytics']);
  });

  it('picks the database a request names, or the first one when it names none', () => {
    expect(databaseComponent(plan, 'analytics', '?component').id).toBe('analytics');
    expect(databaseComponent(plan, undefined, '?component').id).toBe('orders');
  });

  it('refuses an id the plan does not have, at the field the caller wrote it in', () => {
    const refusal = (() => {
      try {
        databaseComponent(plan, 'billing', '?component');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(ValidationFailed);
    expect((refusal as ValidationFailed).errors).toEqual([
      { path: '?component', message: 'names no database component of this plan; it has orders, analytics' },
    ]);
  });
});

describe('instance type hints and AWS targets', () => {
  const aws = { cloud: 'aws', region: 'eu-west-1' };

  it('rejects an unknown hint', () => {
    expect(problemsOf(withComponent({ hardware: { aws: { instanceType: 't9.mega' } } }))).toEqual([
      { path: '/components/0/hardware/aws/instanceType', message: 't9.mega is not in the instance catalog' },
    ]);
  });

  it('rejects cpus or memory that contradict the hint', () => {
    expect(pathsOf(withComponent({ hardware: { cpus: 8, memoryGiB: 64, aws: { instanceType: 't3.medium' } } }))).toEqual([
      '/components/0/hardware/cpus',
      '/components/0/hardware/memoryGiB',
    ]);
  });

  it('rejects a size no catalog type can give on AWS, but allows it locally', () => {
    const patch = { hardware: { cpus: 192, memoryGiB: 1536 } };
    expect(pathsOf({ ...withComponent(patch), target: aws })).toEqual(['/components/0/hardware']);
    expectValid(withComponent(patch));
  });

  it('offers only ssd (gp3) on AWS', () => {
    expect(pathsOf({ ...withComponent({ hardware: { storage: { type: 'hdd' } } }), target: aws })).toEqual(['/components/0/hardware/storage/type']);
  });

  it('validates the target', () => {
    expect(expectValid({ ...minimal, target: { cloud: 'aws' } }).target).toEqual({ cloud: 'aws', region: 'us-east-1' });
    expect(pathsOf({ ...minimal, target: { cloud: 'oracle' } })).toEqual(['/target/cloud']);
    expect(pathsOf({ ...minimal, target: { cloud: 'gcp' } })).toEqual(['/target/project']);
    expect(pathsOf({ ...minimal, target: { cloud: 'aws', region: 'moon-1' } })).toEqual(['/target/region']);
    expect(pathsOf({ ...minimal, target: { cloud: 'local', region: 'us-east-1' } })).toEqual(['/target/region']);
  });

  it('accepts a pinned AMI id and rejects anything else there', () => {
    expectValid(withComponent({ hardware: { aws: { ami: 'ami-0123456789abcdef0' } } }));
    expect(pathsOf(withComponent({ hardware: { aws: { ami: 'ami-xyz; curl evil' } } }))).toEqual(['/components/0/hardware/aws/ami']);
  });
});

describe('the original spec shorthand', () => {
  const shorthand = {
    os: 'linux',
    hardware: { instance_type: 't3.medium', storage: 'ssd', ami: 'ami-0abcdef1234567890' },
    db: { flavor: 'pg', version: '15', backup: 'needed' },
  };

  it('becomes a cs-json plan: Amazon Linux 2023, catalog size with the hint kept, ssd, backups on', () => {
    const plan = expectValid(shorthand);
    expect(plan.name).toBe('postgres-15');
    expect(plan.target).toEqual({ cloud: 'local' });
    const component = postgresComponents(plan)[0]!;
    expect(component.os).toEqual({ name: 'amazon-linux', version: '2023' });
    expect(component.hardware).toEqual({
      cpus: 2,
      memoryGiB: 4,
      storage: { type: 'ssd', sizeGiB: 20 },
      aws: { instanceType: 't3.medium', ami: 'ami-0abcdef1234567890' },
    });
    expect(component.db.version).toBe('15');
    expect(component.db.backup).toEqual({
      enabled: true,
      schedule: '0 3 * * *',
      timezone: 'UTC',
      retentionDays: 7,
      validate: true,
      fullEveryDays: 7,
      incrementalEveryHours: 4,
    });
  });

  it('uses the caller\'s default target and honours backup "not_needed" and a name', () => {
    const result = validatePlan(
      { ...shorthand, name: 'billing', db: { ...shorthand.db, backup: 'not_needed' } },
      { defaultTarget: { cloud: 'aws', region: 'us-west-2' } },
    );
    expect(result.ok && result.plan.target).toEqual({ cloud: 'aws', region: 'us-west-2' });
    expect(result.ok && result.plan.name).toBe('billing');
    expect(result.ok && postgresComponents(result.plan)[0]!.db.backup.enabled).toBe(false);
  });

  it('reports problems at the paths the caller wrote', () => {
    expect(problemsOf({ ...shorthand, hardware: { ...shorthand.hardware, instance_type: 'q1.huge' } })).toEqual([
      { path: '/hardware/instance_type', message: 'q1.huge is not in the instance catalog' },
    ]);
    expect(pathsOf({ ...shorthand, db: { flavor: 'mysql', version: '15', backup: 'maybe' } }).sort()).toEqual(['/db/backup', '/db/flavor']);
    expect(pathsOf({ ...shorthand, db: { ...shorthand.db, version: '14' } })).toEqual(['/db/version']);
    expect(pathsOf({ ...shorthand, hardware: { ...shorthand.hardware, gpu: true } })).toEqual(['/hardware/gpu']);
    expect(pathsOf({ ...shorthand, hardware: { ...shorthand.hardware, ami: '...' } })).toEqual(['/hardware/ami']);
  });
});

describe('CIDRs are parsed strictly', () => {
  it.each(['203.0.113.0/24', '0.0.0.0/0', '10.1.2.3/32', '2001:db8::/32', '::/0', '::1/128', 'fe80::/10', '2001:db8:0:0:0:0:0:1/128'])(
    'accepts %s',
    (cidr) => {
      expect(checkCidr(cidr)).toMatchObject({ ok: true });
    },
  );

  it.each([
    '203.0.113.0',
    '203.0.113.0/33',
    '256.0.0.0/8',
    '010.0.0.0/8',
    '10.0.0/8',
    '10.0.0.0/08',
    ' 10.0.0.0/8',
    '10.0.0.0/8\n',
    '10.0.0.0/8\nhostssl all all 0.0.0.0/0 trust',
    "10.0.0.0/8' OR 1=1",
    '10.0.0.0/8;reboot',
    '10.0.0.1/8',
    '2001:DB8::/32',
    '2001:db8:::/32',
    '2001:db8::1::/64',
    '2001:db8::1/64',
    '::/129',
    '1:2:3:4:5:6:7:8:9/128',
    '',
  ])('rejects %j', (cidr) => {
    expect(checkCidr(cidr).ok).toBe(false);
  });

  it('rejects repeated CIDRs in a plan', () => {
    expect(pathsOf(withComponent({ network: { allowedCidrs: ['10.0.0.0/8', '10.0.0.0/8'] } }))).toEqual(['/components/0/network/allowedCidrs']);
  });
});

describe('backup schedules', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 2 * * 1-5', '30 4 1,15 * *', '0 0 * JAN,JUL *', '0 6 * * SUN'])('accepts %s', (cron) => {
    expect(checkCron(cron)).toEqual({ ok: true });
  });

  it.each([
    ['0 3 * *', /5-field/],
    ['0 0 3 * * *', /5-field/],
    ['0  3 * * *', /5-field/],
    ['61 3 * * *', /minute/],
    ['0 3 * * */2', /day-of-week/],
    ['0 3 1 * 1', /not both/],
    ['0 0 30 2 *', /never fires/],
    ['@daily', /5-field/],
    ['0 3 * * *; rm -rf /', /5-field/],
  ])('rejects %j', (cron, reason) => {
    const check = checkCron(cron);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(reason);
  });

  it.each(['0 3 * * *', '0 * * * *', '59 */2 * * *', '15 0-23 * * 1-5', '0 0,12 * * *', '30 4 1,15 * *'])(
    'lets %s back up at most hourly',
    (cron) => {
      expect(checkBackupInterval(cron)).toEqual({ ok: true });
      expect(validatePlan(withComponent({ db: { backup: { schedule: cron } } })).ok).toBe(true);
    },
  );

  it.each([
    ['*/30 * * * *', /2 times an hour \(at minutes 0, 30\), as little as 30 minutes apart/],
    ['0,30 * * * *', /2 times an hour \(at minutes 0, 30\)/],
    ['*/15 * * * *', /4 times an hour/],
    ['5,10 3 * * *', /2 times an hour \(at minutes 5, 10\), as little as 5 minutes apart.*"5 3 \* \* \*"/],
    ['0-1 3 29 2 *', /2 times an hour \(at minutes 0, 1\)/],
    ['* * * * *', /60 times an hour \(at minutes 0, 1, 2, 3, …\), as little as 1 minute apart/],
    ['58-59 * * * *', /2 times an hour \(at minutes 58, 59\), as little as 1 minute apart/],
  ])('refuses %s, which backs up more often than hourly, at the schedule and says why', (cron, reason) => {
    const check = checkBackupInterval(cron);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(reason);
    const result = validatePlan(withComponent({ db: { backup: { schedule: cron } } }));
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((error) => error.path)).toEqual(['/components/0/db/backup/schedule']);
    expect(errors[0]?.message).toMatch(/backups run at most once an hour/);
  });

  it.each([
    ['0 3 * * *', 'cron(0 3 * * ? *)'],
    ['30 2 1 * *', 'cron(30 2 1 * ? *)'],
    ['0 2 * * 1-5', 'cron(0 2 ? * MON-FRI *)'],
    ['0 2 * * 0,6', 'cron(0 2 ? * SUN,SAT *)'],
    ['0 2 * * 7', 'cron(0 2 ? * SUN *)'],
  ])('turns %s into the EventBridge expression %s', (cron, expression) => {
    expect(toScheduleExpression(cron)).toBe(expression);
  });
});

describe('the JSON Schema document', () => {
  it('is a strict 2020-12 schema of the plan', () => {
    expect(planJsonSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(planJsonSchema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'name', 'components'],
      properties: { components: { type: 'array', minItems: 1, maxItems: 20 } },
    });
  });

  it('describes components as a union told apart by type: postgres and app', () => {
    const items = (planJsonSchema.properties?.components as { items: { oneOf: { properties: { type: unknown }; required: string[] }[] } }).items;
    expect(items.oneOf.map((member) => member.properties.type)).toEqual([
      { type: 'string', const: 'postgres' },
      { type: 'string', const: 'app' },
    ]);
    expect(items.oneOf[0]!.required).toEqual(['id', 'type']);
    expect(items.oneOf[1]!.required).toEqual(['id', 'type', 'source']);
  });
});

describe('validation never throws', () => {
  it('answers any JSON value with a plan or problems, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validatePlan(value);
        return result.ok || result.errors.length > 0;
      }),
      { numRuns: 300 },
    );
  });

  it('answers mutated plans with a plan that revalidates to itself, or with problems', () => {
    const mutation = fc.record({
      name: fc.oneof(fc.string(), fc.constant('orders')),
      sizeGiB: fc.oneof(fc.integer({ min: -10, max: 20_000 }), fc.double(), fc.string()),
      maxConnections: fc.oneof(fc.integer({ min: -5, max: 12_000 }), fc.constant(null)),
      cidr: fc.oneof(
        fc.ipV4().map((ip) => `${ip}/32`),
        fc.string(),
        fc.ipV6().map((ip) => `${ip}/128`),
      ),
    });
    fc.assert(
      fc.property(mutation, ({ name, sizeGiB, maxConnections, cidr }) => {
        const result = validatePlan({
          ...minimal,
          name,
          components: [{ id: 'db', type: 'postgres', hardware: { storage: { sizeGiB } }, db: { maxConnections }, network: { allowedCidrs: [cidr] } }],
        });
        return result.ok
          ? isDeepStrictEqual(validatePlan(result.plan), result)
          : result.errors.every((problem) => problem.path.startsWith('/') && problem.message.length > 0);
      }),
      { numRuns: 300 },
    );
  });
});
