import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { newPlan, PlanDraft } from './draft.svelte.ts';
import Palette from './palette.svelte';
import PropertiesPanel from './properties-panel.svelte';

function draftWithOne() {
  const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
  draft.plan.name = 'orders';
  draft.add('15');
  return draft;
}

describe('the Properties panel', () => {
  it('asks for a selection when nothing is selected', () => {
    const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
    render(PropertiesPanel, { draft, installedVersions: ['15'], cloud: 'local', onaddmyip: () => Promise.resolve('127.0.0.1/32') });

    expect(screen.getByRole('complementary', { name: 'Properties' }).textContent).toContain('Select a component on the canvas');
  });

  it('shows the schema’s problem inline at the field, marked invalid, as the user types', async () => {
    const draft = draftWithOne();
    render(PropertiesPanel, { draft, installedVersions: ['15'], cloud: 'local', onaddmyip: () => Promise.resolve('127.0.0.1/32') });
    const storage = screen.getByLabelText('Storage (GiB)');

    await fireEvent.input(storage, { target: { value: '1' } });

    expect(storage.getAttribute('aria-invalid')).toBe('true');
    const error = document.getElementById(storage.getAttribute('aria-describedby') ?? '');
    expect(error?.textContent).toMatch(/>=8/);
    expect(draft.valid).toBe(false);
  });

  it('marks majors not installed on this machine, for the local cloud', () => {
    const draft = draftWithOne();
    render(PropertiesPanel, { draft, installedVersions: ['15'], cloud: 'local', onaddmyip: () => Promise.resolve('127.0.0.1/32') });
    const options = [...screen.getByLabelText<HTMLSelectElement>('PostgreSQL version').options].map((option) => option.textContent);

    expect(options).toContain('PostgreSQL 15');
    expect(options).toContain('PostgreSQL 17 (not installed on this machine)');
  });

  it('adds the caller’s address as a /32 with "Add my IP", once', async () => {
    const draft = draftWithOne();
    render(PropertiesPanel, { draft, installedVersions: ['15'], cloud: 'local', onaddmyip: () => Promise.resolve('127.0.0.1/32') });

    await fireEvent.click(screen.getByRole('button', { name: 'Add my IP' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Add my IP' }));
    flushSync();

    expect(draft.databases[0]?.network.allowedCidrs).toEqual(['127.0.0.1/32']);
    expect(screen.getByRole('status').textContent).toBe('127.0.0.1/32 is already allowed.');
  });

  it('offers only SSD storage for AWS targets', () => {
    const draft = draftWithOne();
    render(PropertiesPanel, { draft, installedVersions: undefined, cloud: 'aws', onaddmyip: () => Promise.resolve(undefined) });
    const options = [...screen.getByLabelText<HTMLSelectElement>('Storage type').options].map((option) => option.value);

    expect(options).toEqual(['ssd']);
  });

  it("sizes by the plan's cloud's own catalog, and offers no Amazon Linux on Google Cloud", async () => {
    const draft = new PlanDraft(newPlan({ cloud: 'gcp', project: 'acme-prod-123', region: 'us-central1', zone: 'us-central1-a' }), false);
    draft.plan.name = 'orders';
    draft.add('16');
    render(PropertiesPanel, { draft, installedVersions: undefined, cloud: 'gcp', onaddmyip: () => Promise.resolve(undefined) });
    const systems = [...screen.getByLabelText<HTMLSelectElement>('Operating system').options].map((option) => option.textContent);
    expect(systems.some((name) => name?.includes('Amazon Linux'))).toBe(false);

    await fireEvent.click(screen.getByRole('radio', { name: 'Machine type' }));

    const select = screen.getByRole<HTMLSelectElement>('combobox', { name: 'Machine type' });
    const names = [...select.options].map((option) => option.value);
    expect(names).toContain('n2-highmem-4');
    expect(names.some((name) => name.startsWith('t3.'))).toBe(false);
    expect(select.value).toBe('e2-medium');
    expect(draft.databases[0]!.hardware.gcp).toEqual({ machineType: 'e2-medium' });
  });
});

describe('the palette', () => {
  it('says on AWS that automatic failover needs 2 replicas, and on the local cloud that one replica is enough', () => {
    const hintOf = (cloud: 'aws' | 'local', replicas: number) => {
      const draft = draftWithOne();
      draft.databases[0]!.db.topology = { mode: 'cluster', replicas, synchronous: false };
      const { unmount } = render(PropertiesPanel, { draft, installedVersions: ['15'], cloud, onaddmyip: () => Promise.resolve(undefined) });
      const field = screen.getByLabelText('Replicas');
      const text = (field.getAttribute('aria-describedby') ?? '')
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' ');
      unmount();
      return text;
    };

    expect(hintOf('aws', 1)).toContain('In a cloud automatic failover needs 2 or more');
    expect(hintOf('aws', 2)).toContain('Patroni promotes one by itself');
    expect(hintOf('local', 1)).toContain('Patroni promotes one by itself');
  });

  it('adds PostgreSQL to the canvas with Enter, without dragging', async () => {
    const onadd = vi.fn();
    render(Palette, { onadd });

    await fireEvent.keyDown(screen.getByLabelText('PostgreSQL'), { key: 'Enter' });

    expect(onadd).toHaveBeenCalledExactlyOnceWith('postgres');
  });

  it('offers App service as a draggable item that adds an app, no longer coming soon', async () => {
    const onadd = vi.fn();
    render(Palette, { onadd });
    const item = screen.getByLabelText('App service');

    await fireEvent.keyDown(item, { key: 'Enter' });

    expect(onadd).toHaveBeenCalledExactlyOnceWith('app');
    expect(item.getAttribute('aria-roledescription')).toBe('draggable component');
    expect(item.getAttribute('aria-disabled')).toBeNull();
    expect(screen.queryByText('Coming soon')).toBeNull();
  });
});

describe('the backups of a database on every cloud', () => {
  const targets = {
    local: { cloud: 'local' },
    aws: { cloud: 'aws', region: 'eu-west-1' },
    gcp: { cloud: 'gcp', project: 'shop-prod-4821', region: 'us-central1', zone: 'us-central1-a' },
    azure: { cloud: 'azure', subscriptionId: '9c8b7a65-4321-4fed-8cba-0123456789ab', resourceGroup: 'shop-prod', region: 'eastus' },
  } as const;

  function showOn(cloud: keyof typeof targets) {
    const draft = new PlanDraft(newPlan(targets[cloud]), false);
    draft.plan.name = 'orders';
    draft.add('16');
    const { unmount } = render(PropertiesPanel, { draft, installedVersions: undefined, cloud, onaddmyip: () => Promise.resolve(undefined) });
    return { draft, unmount };
  }

  it('offers backups on with their schedule on every cloud, and says nothing is missing', async () => {
    for (const cloud of ['aws', 'local', 'gcp', 'azure'] as const) {
      const { draft, unmount } = showOn(cloud);
      const backups = screen.getByRole('checkbox', { name: 'Backups' });
      expect(backups.getAttribute('aria-describedby')).toBeNull();
      expect(screen.queryByText(/not available yet/)).toBeNull();
      expect(draft.databases[0]?.db.backup.enabled).toBe(true);
      await fireEvent.click(backups);
      expect(draft.databases[0]?.db.backup.enabled).toBe(false);
      unmount();
    }
  });
});
