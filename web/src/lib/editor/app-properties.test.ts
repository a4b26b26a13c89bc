import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';
import { newPlan, PlanDraft } from './draft.svelte.ts';
import PropertiesPanel from './properties-panel.svelte';

// The Properties panel of an app: what the repository holds is detected, what is typed here overrides it.

function planWithApp(cloud: 'local' | 'aws' = 'local') {
  const draft = new PlanDraft(newPlan(cloud === 'aws' ? { cloud: 'aws', region: 'eu-west-1' } : { cloud: 'local' }), false);
  draft.plan.name = 'shop';
  draft.add('15');
  draft.add('15');
  const app = draft.addApp();
  render(PropertiesPanel, { draft, installedVersions: ['15'], cloud, onaddmyip: () => Promise.resolve(undefined) });
  return { draft, app };
}

const field = <T extends HTMLElement = HTMLInputElement>(label: string) => screen.getByLabelText<T>(label);

function describedBy(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
}

describe('the Properties panel of an app', () => {
  it('names the app and asks for its repository first', () => {
    const { draft } = planWithApp();

    expect(screen.getByRole('complementary', { name: 'Properties' }).textContent).toContain('App service · app');
    expect(field('Repository URL').getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(field('Repository URL'))).toContain('is required');
    expect(field('Branch').value).toBe('main');
    expect(draft.valid).toBe(false);
  });

  it('edits the source, and leaves an emptied commit out of the plan', async () => {
    const { draft, app } = planWithApp();

    await fireEvent.input(field('Repository URL'), { target: { value: 'https://github.com/acme/shop.git' } });
    await fireEvent.input(field('Branch'), { target: { value: 'release/2026' } });
    await fireEvent.input(field('Root directory'), { target: { value: 'services/api' } });
    await fireEvent.input(field('Commit (optional)'), { target: { value: 'abc1234' } });

    expect(app.source).toEqual({ repoUrl: 'https://github.com/acme/shop.git', branch: 'release/2026', rootDir: 'services/api', commit: 'abc1234' });
    expect(draft.valid).toBe(true);

    await fireEvent.input(field('Commit (optional)'), { target: { value: '' } });
    expect('commit' in app.source).toBe(false);
  });

  it('shows the schema’s problem at a bad commit', async () => {
    planWithApp();

    await fireEvent.input(field('Commit (optional)'), { target: { value: 'main' } });

    expect(field('Commit (optional)').getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(field('Commit (optional)'))).toContain('must be a commit id');
  });

  it('leaves the runtime and the commands to detection until one is typed', async () => {
    const { app } = planWithApp();

    for (const label of ['Install command', 'Build command', 'Start command']) expect(field(label).placeholder).toBe('detected');
    expect([...field<HTMLSelectElement>('Runtime').options].map((option) => option.value)).toEqual(['', 'node', 'python']);

    await fireEvent.change(field<HTMLSelectElement>('Runtime'), { target: { value: 'python' } });
    await fireEvent.input(field('Start command'), { target: { value: 'gunicorn shop.wsgi' } });
    await fireEvent.input(field('Release command'), { target: { value: 'python manage.py migrate' } });
    await fireEvent.input(field('Port'), { target: { value: '8000' } });
    await fireEvent.input(field('Health check path'), { target: { value: '/healthz' } });
    await fireEvent.input(field('Instances'), { target: { value: '3' } });

    expect(app.build).toEqual({ runtime: 'python' });
    expect(app.run).toEqual({ startCommand: 'gunicorn shop.wsgi', releaseCommand: 'python manage.py migrate', port: 8000 });
    expect(app.healthCheck.path).toBe('/healthz');
    expect(app.instances.count).toBe(3);

    await fireEvent.change(field<HTMLSelectElement>('Runtime'), { target: { value: '' } });
    expect(app.build).toEqual({});
  });

  it('lists the plan’s databases to use, or none', async () => {
    const { draft, app } = planWithApp();
    const select = field<HTMLSelectElement>('Database');

    expect([...select.options].map((option) => option.textContent)).toEqual(['None', 'postgres', 'postgres-2']);
    expect(select.value).toBe('postgres');

    await fireEvent.change(select, { target: { value: 'postgres-2' } });
    expect(app.database).toEqual({ component: 'postgres-2' });
    expect(draft.links).toEqual([{ from: 'app', to: 'postgres-2' }]);

    await fireEvent.change(select, { target: { value: '' } });
    expect(app.database).toBeUndefined();
    expect(draft.links).toEqual([]);
  });

  it('edits variables as rows, and says why a row is refused or left out', async () => {
    const { app } = planWithApp();

    await fireEvent.click(screen.getByRole('button', { name: 'Add variable' }));
    await fireEvent.input(field('Variable 1 name'), { target: { value: 'LOG_LEVEL' } });
    await fireEvent.input(field('Variable 1 value'), { target: { value: 'debug' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add variable' }));
    await fireEvent.input(field('Variable 2 name'), { target: { value: 'LOG_LEVEL' } });
    expect(app.env).toEqual({ LOG_LEVEL: 'debug' });
    expect(describedBy(field('Variable 2 name'))).toContain('LOG_LEVEL is set in row 1');

    await fireEvent.input(field('Variable 2 name'), { target: { value: 'PGHOST' } });
    flushSync();
    expect(app.env).toEqual({ LOG_LEVEL: 'debug', PGHOST: '' });
    expect(field('Variable 2 name').getAttribute('aria-invalid')).toBe('true');
    expect(describedBy(field('Variable 2 name'))).toContain('names starting with PG are set by CloudSeed');

    await fireEvent.click(screen.getByRole('button', { name: 'Remove variable 2' }));
    expect(app.env).toEqual({ LOG_LEVEL: 'debug' });
  });

  it('adds secrets by name, checked like variables', async () => {
    const { app } = planWithApp();

    await fireEvent.click(screen.getByRole('button', { name: 'Add secret' }));
    await fireEvent.input(field('Secret 1'), { target: { value: 'STRIPE_KEY' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add secret' }));
    await fireEvent.input(field('Secret 2'), { target: { value: 'bad name' } });
    flushSync();

    expect(app.secrets).toEqual(['STRIPE_KEY', 'bad name']);
    expect(describedBy(field('Secret 2'))).toContain('must be a variable name');
  });

  it('sizes instances in Fargate’s pairs on AWS only, keeping the memory a CPU size allows', async () => {
    const { app } = planWithApp('aws');
    const cpu = field<HTMLSelectElement>('CPU');

    expect([...field<HTMLSelectElement>('Memory').options].map((option) => option.textContent)).toEqual(['0.5 GiB', '1 GiB', '2 GiB']);
    await fireEvent.change(cpu, { target: { value: '1024' } });
    flushSync();

    expect(app.instances).toEqual({ count: 1, cpu: 1024, memoryMiB: 2048 });
    expect(within(field<HTMLSelectElement>('Memory')).getAllByRole('option')[0]?.textContent).toBe('2 GiB');
  });

  it('has no CPU or memory to choose on the local cloud', () => {
    planWithApp('local');

    expect(screen.queryByLabelText('CPU')).toBeNull();
    expect(screen.queryByLabelText('Memory')).toBeNull();
  });
});
