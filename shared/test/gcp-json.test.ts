import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { goldenJson } from './support/golden.ts';
import { postgresComponents } from '../src/cs-json/components.ts';
import { validatePlan } from '../src/cs-json/validate.ts';
import type { Plan } from '../src/cs-json/schema.ts';
import { GCP_JSON_VERSION, gcpMachineTypes, renderGcpComponent, renderGcpJson } from '../src/targets/gcp/index.ts';
import type { GcpFirewall, GcpJson } from '../src/targets/gcp/index.ts';

const PLAN_ID = '3f1c2a9e-8d4b-4c71-9a2e-5b6d7e8f9012';
const GCP = { cloud: 'gcp', project: 'acme-prod-123', region: 'europe-west4' } as const;
const DEBIAN = { name: 'debian', version: '12' } as const;

function plan(component: Record<string, unknown>, target: Record<string, unknown> = GCP): Plan {
  const result = validatePlan({
    apiVersion: 'cs/v1',
    name: 'orders',
    target,
    components: [{ id: 'db', type: 'postgres', os: DEBIAN, ...component }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** The document as the golden file holds it: pretty JSON, formatted as the repository formats JSON. */
function golden(document: GcpJson): Promise<string> {
  return goldenJson(document, new URL('./golden/gcp.json', import.meta.url));
}

const FIXTURES: Record<string, Record<string, unknown>> = {
  single: { network: { allowedCidrs: ['203.0.113.0/24'] } },
  hinted: {
    hardware: { cpus: 4, memoryGiB: 32, storage: { sizeGiB: 200 }, gcp: { machineType: 'n2-highmem-4' } },
    network: { allowedCidrs: ['198.51.100.0/24', '2001:db8::/48', '203.0.113.7/32'] },
  },
  patroni: {
    hardware: { cpus: 2, memoryGiB: 8, storage: { sizeGiB: 50 } },
    db: { topology: { mode: 'cluster', replicas: 2 } },
    network: { allowedCidrs: ['10.20.0.0/16'] },
  },
  pair: {
    hardware: { cpus: 2, memoryGiB: 4 },
    db: { topology: { mode: 'cluster', replicas: 1 } },
    network: { allowedCidrs: ['10.20.0.0/16'] },
  },
};

describe('renderGcpJson golden documents', () => {
  for (const [name, component] of Object.entries(FIXTURES)) {
    it(`renders the ${name} plan as its golden file says`, async () => {
      const document = renderGcpJson(plan(component), { planId: PLAN_ID });
      await expect(await golden(document)).toMatchFileSnapshot(`./golden/gcp-${name}.json`);
    });
  }
});

describe('renderGcpJson', () => {
  it('is deterministic: the same plan renders to byte-identical JSON whatever its key order', () => {
    const first = JSON.stringify(renderGcpJson(plan(FIXTURES.hinted!), { planId: PLAN_ID }));
    const reordered = validatePlan({
      components: [{ network: FIXTURES.hinted!.network, hardware: FIXTURES.hinted!.hardware, os: DEBIAN, type: 'postgres', id: 'db' }],
      target: { region: 'europe-west4', project: 'acme-prod-123', cloud: 'gcp' },
      name: 'orders',
      apiVersion: 'cs/v1',
    });
    if (!reordered.ok) throw new Error('fixture is invalid');
    expect(JSON.stringify(renderGcpJson(reordered.plan, { planId: PLAN_ID }))).toBe(first);
  });

  it('refuses a plan for another cloud and a plan id that cannot be a label', () => {
    expect(() => renderGcpJson(plan({}, { cloud: 'aws', region: 'eu-central-1' }), { planId: PLAN_ID })).toThrow(RangeError);
    expect(() => renderGcpJson(plan({}), { planId: 'Plan_1' })).toThrow(RangeError);
  });

  it('renders in the plan zone and opens no PostgreSQL rule when no network is allowed', () => {
    const document = renderGcpJson(plan({}, { ...GCP, zone: 'europe-west4-b' }), { planId: PLAN_ID });
    const component = only(document.components);
    expect(document).toMatchObject({ apiVersion: GCP_JSON_VERSION, zone: 'europe-west4-b' });
    expect(only(component.instances).instanceResource).toMatchObject({ machineType: 'zones/europe-west4-b/machineTypes/e2-medium' });
    expect(component.firewalls.map((rule) => rule.name)).toEqual([`cs-${PLAN_ID}-db-deny-ssh`]);
  });

  it('puts a C3 database on Hyperdisk Balanced with exactly the free baseline provisioned', () => {
    const component = only(renderGcpJson(plan({ hardware: { gcp: { machineType: 'c3-standard-4' } } }), { planId: PLAN_ID }).components);
    expect(component.diskType).toBe('hyperdisk-balanced');
    const disks = only(component.instances).instanceResource.disks as { initializeParams: Record<string, unknown> }[];
    expect(disks[1]?.initializeParams).toMatchObject({
      diskType: 'zones/europe-west4-a/diskTypes/hyperdisk-balanced',
      provisionedIops: '3000',
      provisionedThroughput: '140',
    });
  });

  it('boots an Arm machine from the arm64 image and stops it for host maintenance', () => {
    const component = only(renderGcpJson(plan({ hardware: { gcp: { machineType: 't2a-standard-2' } } }), { planId: PLAN_ID }).components);
    expect(component.os.image).toBe('projects/debian-cloud/global/images/family/debian-12-arm64');
    expect(only(component.instances).instanceResource.scheduling).toEqual({ onHostMaintenance: 'TERMINATE', automaticRestart: true });
  });

  it("admits the plan's apps from its subnet when the component is linked", () => {
    const component = only(postgresComponents(plan({})));
    const rendered = renderGcpComponent(component, {
      planId: PLAN_ID,
      planName: 'orders',
      project: 'acme-prod-123',
      region: 'europe-west4',
      zone: 'europe-west4-a',
      linkedApps: ['web'],
    });
    expect(rendered.firewalls.find((rule) => rule.name.endsWith('-apps'))).toMatchObject({
      sourceRanges: ['10.128.0.0/20'],
      allowed: [{ ports: ['5432'] }],
    });
    expect(rendered.postgres.pgHbaConf).toMatch(/^hostssl\s+app\s+app\s+10\.128\.0\.0\/20\s+scram-sha-256$/m);
  });

  it('keeps long names within 63 characters and apart', () => {
    const long = 'a'.repeat(31);
    const rendered = renderGcpJson(plan({ id: long, db: { topology: { mode: 'cluster', replicas: 2 } } }), { planId: PLAN_ID });
    const names = [...rendered.components[0]!.firewalls.map((rule) => rule.name), ...rendered.components[0]!.instances.map(instanceName)];
    for (const name of names) expect(name).toMatch(RFC1035);
    expect(new Set(names).size).toBe(names.length);
  });
});

const RFC1035 = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

function instanceName(insert: { readonly instanceResource: Record<string, unknown> }): string {
  return String(insert.instanceResource.name);
}

/** Every (key, value) pair anywhere in the document. */
function* entries(value: unknown): Generator<[string, unknown]> {
  if (Array.isArray(value)) {
    for (const item of value) yield* entries(item);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      yield [key, inner];
      yield* entries(inner);
    }
  }
}

function portsCover(ports: readonly string[], port: number): boolean {
  return ports.some((text) => {
    const [from = '', to = from] = text.split('-');
    return Number(from) <= port && port <= Number(to);
  });
}

const ipv4Cidr = fc.oneof(
  fc.ipV4().map((ip) => `${ip}/32`),
  fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `${a}.${b}.${c}.0/24`),
);
const ipv6Cidr = fc.integer({ min: 0, max: 0xffff }).map((group) => `2001:db8:${group.toString(16)}::/48`);
const topology = fc.oneof(
  fc.constant({ mode: 'single' }),
  fc.integer({ min: 1, max: 5 }).map((replicas) => ({ mode: 'cluster', replicas })),
);
const hardware = fc.oneof(
  fc.record({
    cpus: fc.constantFrom(1, 2, 4, 8, 16),
    memoryGiB: fc.constantFrom(2, 4, 8, 16, 32, 64),
    storage: fc.record({ sizeGiB: fc.integer({ min: 8, max: 16_384 }) }),
  }),
  fc.record({
    gcp: fc.record({ machineType: fc.constantFrom(...gcpMachineTypes.map((type) => type.name)) }),
    storage: fc.record({ sizeGiB: fc.integer({ min: 8, max: 16_384 }) }),
  }),
);
const plans = fc.record({
  planId: fc.uuid(),
  id: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/),
  os: fc.constantFrom(DEBIAN, { name: 'ubuntu', version: '24.04' }),
  cidrs: fc.uniqueArray(fc.oneof(ipv4Cidr, ipv6Cidr), { maxLength: 6 }),
  topology,
  hardware,
  region: fc.constantFrom('europe-west4', 'us-central1', 'asia-northeast1'),
});

describe('renderGcpJson invariants over many plans', () => {
  it('never exposes a node, never opens SSH and admits PostgreSQL only from the plan networks', () => {
    fc.assert(
      fc.property(plans, ({ planId, id, os, cidrs, topology: shape, hardware: size, region }) => {
        const result = validatePlan({
          apiVersion: 'cs/v1',
          name: 'orders',
          target: { ...GCP, region },
          components: [{ id, type: 'postgres', os, hardware: size, db: { topology: shape }, network: { allowedCidrs: cidrs } }],
        });
        if (!result.ok) throw new Error(JSON.stringify(result.errors));
        const document = renderGcpJson(result.plan, { planId });
        expect(JSON.stringify(renderGcpJson(result.plan, { planId }))).toBe(JSON.stringify(document));
        const component = only(document.components);
        const member = `serviceAccount:${component.serviceAccount.email}`;

        // No external address on any node.
        for (const insert of component.instances) {
          for (const nic of insert.instanceResource.networkInterfaces as Record<string, unknown>[]) expect(nic).not.toHaveProperty('accessConfigs');
          expect(instanceName(insert)).toMatch(RFC1035);
          expect(insert.requestId).toMatch(UUID);
        }
        expect(new Set(component.instances.map((insert) => insert.requestId)).size).toBe(component.instances.length);

        // Firewalls: an explicit deny of SSH above everything, no allow of 22, nothing allowed from everywhere.
        const allows = component.firewalls.filter((rule) => rule.allowed !== undefined);
        const denySsh = component.firewalls.find((rule) => rule.denied !== undefined && portsCover(rule.denied[0]!.ports, 22));
        expect(denySsh).toMatchObject({ sourceRanges: ['0.0.0.0/0'], priority: 100 });
        for (const rule of allows) {
          expect(rule.name).toMatch(RFC1035);
          expect(rule.priority).toBeGreaterThan(denySsh!.priority);
          expect(rule.allowed!.some((allowed) => portsCover(allowed.ports, 22))).toBe(false);
          expect(rule.sourceRanges ?? []).not.toContain('0.0.0.0/0');
          expect(rule.sourceRanges ?? []).not.toContain('::/0');
          expect(rule.targetServiceAccounts).toEqual([component.serviceAccount.email]);
        }
        // PostgreSQL from outside: exactly the plan's CIDRs, one rule per address family.
        const fromOutside = allows.filter(
          (rule: GcpFirewall) => rule.sourceRanges !== undefined && rule.allowed!.some((allowed) => portsCover(allowed.ports, 5432)),
        );
        const v4 = cidrs.filter((cidr) => !cidr.includes(':'));
        const v6 = cidrs.filter((cidr) => cidr.includes(':'));
        expect(fromOutside.map((rule) => rule.sourceRanges)).toEqual([v4, v6].filter((family) => family.length > 0));
        // Between the nodes: by service account only.
        const internal = allows.filter((rule) => rule.sourceServiceAccounts !== undefined);
        for (const rule of internal) expect(rule.sourceServiceAccounts).toEqual([component.serviceAccount.email]);
        expect(internal).toHaveLength(component.instances.length > 1 ? 1 : 0);

        // Secrets: readable by the nodes' own service account only; no password value anywhere.
        const secrets = [
          component.secret,
          component.replicationSecret,
          component.patroni?.restPasswordSecret,
          component.patroni?.rewindPasswordSecret,
        ];
        for (const secret of secrets.filter((candidate) => candidate !== undefined)) {
          expect(secret.iamPolicy.bindings).toEqual([{ role: 'roles/secretmanager.secretAccessor', members: [member] }]);
          expect(secret.secretId).toMatch(/^cloudseed-[a-z0-9-]+-password$/);
        }
        expect(component.backup.bucket.iamBinding.members).toEqual([member]);
        expect(component.serviceAccount.accountId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);

        const all = [...entries(document)];
        // A key that speaks of a password holds a secret's request (its name and policy), never a value.
        const passwordKeys = all.filter(([key]) => /password/i.test(key));
        expect(passwordKeys.filter(([, value]) => typeof value !== 'object' || value === null || !('secretId' in value))).toEqual([]);
        // int64 fields of the Compute Engine API are strings.
        const int64s = all.filter(([key]) => ['diskSizeGb', 'provisionedIops', 'provisionedThroughput'].includes(key));
        expect(int64s.length).toBeGreaterThanOrEqual(2 * component.instances.length);
        expect(int64s.filter(([, value]) => typeof value !== 'string')).toEqual([]);
        const labels = all.filter(([key]) => key === 'labels').flatMap(([, value]) => Object.entries(value as Record<string, string>));
        expect(labels.filter(([key, value]) => !LABEL_KEY.test(key) || !LABEL_VALUE.test(value))).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
