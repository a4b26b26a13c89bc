import { describe, expect, it } from 'vitest';
import { validatePlan } from '@cloudseed/shared/cs-json/validate';
import { editable, newPlan, PlanDraft, previewOf } from './draft.svelte.ts';

function draftWithOne() {
  const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
  draft.plan.name = 'orders';
  const component = draft.add('15');
  return { draft, component };
}

describe('the plan being edited', () => {
  it('is invalid without a component, and says so at /components', () => {
    const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
    draft.plan.name = 'orders';

    expect(draft.valid).toBe(false);
    expect(draft.problem('/components')).toBe('a plan needs at least one component');
  });

  it('becomes valid with one PostgreSQL component, selected, with the given version', () => {
    const { draft, component } = draftWithOne();

    expect(draft.valid).toBe(true);
    expect(draft.selectedId).toBe('postgres');
    expect(component.db.version).toBe('15');
  });

  it('gives every new component its own id', () => {
    const { draft } = draftWithOne();
    draft.add('15');
    draft.add('15');

    expect(draft.plan.components.map((component) => component.id)).toEqual(['postgres', 'postgres-2', 'postgres-3']);
    expect(draft.selectedId).toBe('postgres-3');
  });

  it('keeps each problem at the path of the field that caused it', () => {
    const { draft, component } = draftWithOne();
    component.hardware.storage.sizeGiB = 1;
    component.network.allowedCidrs.push('10.0.0.1/8');

    expect(draft.valid).toBe(false);
    expect(draft.problem('/components/0/hardware/storage/sizeGiB')).toMatch(/>=8/);
    expect(draft.problem('/components/0/network/allowedCidrs/0')).toMatch(/10\.0\.0\.0\/8/);
    expect(draft.componentProblems(0)).toHaveLength(2);
  });

  it('refuses a version the chosen OS does not offer, at the version field', () => {
    const { draft, component } = draftWithOne();
    component.db.version = '13';

    expect(draft.problem('/components/0/db/version')).toMatch(/not offered on Amazon Linux 2023/);
  });

  it('sizes by instance type with cpus and memory that follow it, and back to a custom size', () => {
    const { draft, component } = draftWithOne();
    draft.useMachine(component, 'aws', 'm7g.large');

    expect(component.hardware).toMatchObject({ cpus: 2, memoryGiB: 8, aws: { instanceType: 'm7g.large' } });
    expect(draft.valid).toBe(true);

    draft.useCustomSize(component, 'aws');
    expect(component.hardware.aws).toBeUndefined();
    expect(draft.valid).toBe(true);
  });

  it('is dirty until saved, and clean again after', () => {
    const { draft } = draftWithOne();
    expect(draft.dirty).toBe(true);

    draft.markSaved(structuredClone(draft.toInput()) as typeof draft.plan);
    expect(draft.dirty).toBe(false);

    draft.databases[0]!.db.maxConnections = 200;
    expect(draft.dirty).toBe(true);
  });

  it('edits a plan the API returned as it is, and keeps the selected component by id when others go', () => {
    const { draft } = draftWithOne();
    draft.add('16');
    const result = validatePlan(draft.toInput());
    if (!result.ok) throw new Error(JSON.stringify(result.errors));

    const loaded = new PlanDraft(editable(result.plan), true);
    loaded.selectedId = 'postgres-2';
    loaded.remove('postgres');

    expect(loaded.selected?.id).toBe('postgres-2');
    expect(loaded.selected).toMatchObject({ type: 'postgres', db: { version: '16' } });
    expect(loaded.selectedIndex).toBe(0);
    expect(previewOf(loaded.selected)?.component).toMatchObject({ id: 'postgres-2', db: { version: '16' } });
  });

  it('moves the selection when the selected component is removed', () => {
    const { draft } = draftWithOne();
    draft.add('15');
    draft.remove('postgres-2');

    expect(draft.selectedId).toBe('postgres');
    draft.remove('postgres');
    expect(draft.selectedId).toBeUndefined();
  });
});

describe('the preview beside the editor', () => {
  it("shows pgtune's settings and the monthly cost of the component as deployed", () => {
    const { component } = draftWithOne();
    component.hardware.cpus = 4;
    component.hardware.memoryGiB = 16;
    component.db.version = '16';

    const preview = previewOf(component);

    expect(preview?.tuning.settings.shared_buffers).toBe('4GB');
    expect(preview?.tuning.settings.effective_cache_size).toBe('12GB');
    expect(preview?.instance?.name).toBeDefined();
    expect(preview?.cost.totalUsd).toBeCloseTo((preview?.cost.instanceUsd ?? 0) + 20 * 0.08, 2);
  });

  it('adds the load balancer of a cluster that fails over by itself to the cost, and only then', () => {
    const { component } = draftWithOne();
    component.db.topology = { mode: 'cluster', replicas: 2, synchronous: false };
    const failover = previewOf(component);
    component.db.topology = { mode: 'cluster', replicas: 1, synchronous: false };
    const streaming = previewOf(component);

    expect(failover?.cost.loadBalancerUsd).toBe(16.43);
    expect(failover?.cost.totalUsd).toBeCloseTo((failover?.cost.instanceUsd ?? 0) + (failover?.cost.storageUsd ?? 0) + 16.43, 2);
    expect(streaming?.cost.loadBalancerUsd).toBeUndefined();
  });

  it("prices the component on the plan's own cloud, and the same size on every cloud cheapest first", () => {
    const { component } = draftWithOne();
    component.hardware.cpus = 4;
    component.hardware.memoryGiB = 16;

    const onGcp = previewOf(component, 'gcp');
    const onLocal = previewOf(component, 'local');

    expect(onGcp?.cloud).toBe('gcp');
    expect(onGcp?.cost.basis).toMatch(/^us-central1 on-demand/);
    expect(onLocal?.cloud).toBe('aws');
    expect(onLocal?.cost.basis).toMatch(/^us-east-1 on-demand/);
    expect(onGcp?.clouds.map((price) => price.cloud).sort()).toEqual(['aws', 'azure', 'gcp']);
    const totals = onGcp?.clouds.map((price) => price.totalUsd) ?? [];
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    expect(onGcp?.clouds.find((price) => price.cloud === 'gcp')?.totalUsd).toBe(onGcp?.cost.totalUsd);
  });

  it('sizes by the cloud its hint is for, leaving the other clouds alone', () => {
    const draft = new PlanDraft(newPlan({ cloud: 'gcp', project: 'acme-prod-123', region: 'us-central1', zone: 'us-central1-a' }), false);
    draft.plan.name = 'orders';
    const component = draft.add('16');
    expect(component.os).toEqual({ name: 'debian', version: '12' });

    draft.useMachine(component, 'gcp', 'n2-highmem-4');

    expect(component.hardware).toMatchObject({ cpus: 4, memoryGiB: 32, gcp: { machineType: 'n2-highmem-4' } });
    expect(component.hardware.aws).toBeUndefined();
    expect(draft.valid).toBe(true);
    expect(draft.preview?.instance?.name).toBe('n2-highmem-4');
    draft.useCustomSize(component, 'gcp');
    expect(component.hardware.gcp).toBeUndefined();
  });

  it('moves databases off Amazon Linux when the plan moves to a cloud without it', () => {
    const { draft, component } = draftWithOne();
    expect(component.os.name).toBe('amazon-linux');

    draft.retarget({ cloud: 'azure', subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'prod', region: 'eastus' });

    expect(draft.plan.components[0]).toMatchObject({ os: { name: 'debian', version: '12' } });
    expect(draft.valid).toBe(true);
  });

  it('has nothing to show for a component with invalid settings', () => {
    const { component } = draftWithOne();
    component.db.maxConnections = 1;

    expect(previewOf(component)).toBeUndefined();
  });
});

describe('an app in the plan', () => {
  it('is added with its own id, from the main branch, using the plan’s first database', () => {
    const { draft } = draftWithOne();
    draft.add('15');

    const app = draft.addApp();
    const second = draft.addApp();

    expect(app).toMatchObject({ id: 'app', type: 'app', source: { repoUrl: '', branch: 'main' }, database: { component: 'postgres' } });
    expect(second.id).toBe('app-2');
    expect(draft.selectedId).toBe('app-2');
    expect(draft.links).toEqual([
      { from: 'app', to: 'postgres' },
      { from: 'app-2', to: 'postgres' },
    ]);
  });

  it('uses no database when the plan has none', () => {
    const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);

    expect(draft.addApp().database).toBeUndefined();
    expect(draft.links).toEqual([]);
  });

  it('asks for the repository, then validates with the same rules as the API', () => {
    const { draft } = draftWithOne();
    const app = draft.addApp();

    expect(draft.problem('/components/1/source/repoUrl')).toBeDefined();

    app.source.repoUrl = 'https://github.com/acme/shop.git';
    expect(draft.valid).toBe(true);
    expect(draft.toInput().components[1]).toMatchObject({ type: 'app', database: { component: 'postgres' } });
  });

  it('no longer names a database that is removed from the canvas', () => {
    const { draft } = draftWithOne();
    const app = draft.addApp();
    app.source.repoUrl = 'https://github.com/acme/shop.git';

    draft.remove('postgres');

    expect(app.database).toBeUndefined();
    expect(draft.links).toEqual([]);
    expect(draft.valid).toBe(true);
  });

  it('has no tuning or price to preview', () => {
    const { draft } = draftWithOne();

    expect(previewOf(draft.addApp())).toBeUndefined();
  });
});
