import { describe, expect, it } from 'vitest';
import { NotFound, PlanService, PreconditionFailed, ValidationFailed, etagOf, toResource, versionFromIfMatch } from '../src/index.ts';
import type { PlanPage, PlanRecord, PlanRepository } from '../src/index.ts';

class MemoryPlans implements PlanRepository {
  readonly records = new Map<string, PlanRecord>();
  create(record: PlanRecord) {
    this.records.set(`${record.ownerId}/${record.id}`, record);
    return Promise.resolve();
  }
  get(ownerId: string, id: string) {
    return Promise.resolve(this.records.get(`${ownerId}/${id}`));
  }
  list(ownerId: string): Promise<PlanPage> {
    return Promise.resolve({ items: [...this.records.values()].filter((record) => record.ownerId === ownerId) });
  }
  replace(record: PlanRecord, expectedVersion: number) {
    const current = this.records.get(`${record.ownerId}/${record.id}`);
    if (!current) return Promise.reject(new NotFound('gone'));
    if (current.version !== expectedVersion) return Promise.reject(new PreconditionFailed('raced'));
    this.records.set(`${record.ownerId}/${record.id}`, record);
    return Promise.resolve();
  }
  delete(ownerId: string, id: string) {
    this.records.delete(`${ownerId}/${id}`);
    return Promise.resolve();
  }
}

const body = { apiVersion: 'cs/v1', name: 'orders', components: [{ id: 'db', type: 'postgres' }] };
const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];

function service() {
  const repository = new MemoryPlans();
  let tick = 0;
  const plans = new PlanService({
    repository,
    now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
    newId: () => ids.shift() ?? '33333333-3333-4333-8333-333333333333',
    defaultTarget: { cloud: 'local' },
  });
  return { plans, repository };
}

describe('PlanService', () => {
  it('creates version 1, not deployed, with the normalised spec', async () => {
    const { plans } = service();
    const plan = await plans.create('alice', body);
    expect(toResource(plan)).toMatchObject({
      version: 1,
      status: 'not_deployed',
      createdAt: '2026-01-01T00:00:00.000Z',
      spec: { target: { cloud: 'local' } },
    });
    expect(toResource(plan)).not.toHaveProperty('ownerId');
    expect(etagOf(plan)).toBe('"1"');
  });

  it('refuses an invalid body with every problem and stores nothing', async () => {
    const { plans, repository } = service();
    const error = await plans.create('alice', { ...body, name: '' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors).toEqual([expect.objectContaining({ path: '/name' })]);
    expect(repository.records.size).toBe(0);
  });

  it('updates with a matching If-Match, refuses a stale one, and keeps createdAt', async () => {
    const { plans } = service();
    const plan = await plans.create('alice', body);
    const updated = await plans.update('alice', plan.id, { ...body, name: 'v2' }, '"1"');
    expect(updated).toMatchObject({ version: 2, createdAt: plan.createdAt, spec: { name: 'v2' } });
    await expect(plans.update('alice', plan.id, { ...body, name: 'v3' }, '"1"')).rejects.toBeInstanceOf(PreconditionFailed);
    await expect(plans.delete('alice', plan.id, '"1"')).rejects.toBeInstanceOf(PreconditionFailed);
  });

  it("answers NotFound for another owner's plan and for ids that are not ids", async () => {
    const { plans } = service();
    const plan = await plans.create('alice', body);
    await expect(plans.get('bob', plan.id)).rejects.toBeInstanceOf(NotFound);
    await expect(plans.update('bob', plan.id, body)).rejects.toBeInstanceOf(NotFound);
    await expect(plans.delete('bob', plan.id)).rejects.toBeInstanceOf(NotFound);
    await expect(plans.get('alice', '../etc/passwd')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('versionFromIfMatch', () => {
  it.each([
    [undefined, undefined],
    ['*', undefined],
    ['"3"', 3],
    ['W/"3"', 3],
    [' "12" ', 12],
    ['3', 'none'],
    ['"0"', 'none'],
    ['"abc"', 'none'],
    ['"1", "2"', 'none'],
    ['', 'none'],
  ])('reads %j as %j', (header, version) => {
    expect(versionFromIfMatch(header)).toBe(version);
  });
});
