import { fireEvent, render, screen, within } from '@testing-library/svelte';
import axe from 'axe-core';
import { describe, expect, it } from 'vitest';
import { newPlan, PlanDraft } from './draft.svelte.ts';
import PropertiesPanel from './properties-panel.svelte';

function draftWithOne(version = '16') {
  const draft = new PlanDraft(newPlan({ cloud: 'local' }), false);
  draft.plan.name = 'orders';
  const component = draft.add(version);
  component.os = { name: 'debian', version: '12' };
  return { draft, component };
}

function show(version = '16') {
  const { draft, component } = draftWithOne(version);
  render(PropertiesPanel, { draft, installedVersions: undefined, cloud: 'local', onaddmyip: () => Promise.resolve(undefined) });
  return { draft, component };
}

/** The first component's db as the plan is sent. */
function sentDb(draft: PlanDraft): Record<string, unknown> {
  return (draft.toInput().components[0] as { db: Record<string, unknown> }).db;
}

/** The text of everything an element's aria-describedby names. */
function description(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
}

async function addDatabase(name: string) {
  await fireEvent.input(screen.getByLabelText('New database'), { target: { value: name } });
  await fireEvent.click(screen.getByRole('button', { name: 'Add database' }));
}

async function addRole(name: string) {
  await fireEvent.input(screen.getByLabelText('New role'), { target: { value: name } });
  await fireEvent.click(screen.getByRole('button', { name: 'Add role' }));
}

async function seriousViolations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false } } });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help}`);
}

describe('the databases and roles of a PostgreSQL component', () => {
  it('leaves both out of a plan that has none, and explains where roles reach and how they get a password', () => {
    const { draft } = show();

    const text = screen.getByRole('group', { name: 'Databases and roles' }).textContent?.replace(/\s+/g, ' ');
    expect(text).toContain('Roles reach every database of the plan');
    expect(text).toContain('deployment view after deploying');
    expect(text).toContain('a database taken out of the plan is kept');
    expect(Object.keys(sentDb(draft))).not.toContain('databases');
    expect(Object.keys(sentDb(draft))).not.toContain('roles');
  });

  it('adds a database, trimmed, and removes it, leaving no databases key once the list is empty', async () => {
    const { draft, component } = show();

    await addDatabase('  analytics ');
    await addDatabase('reports');

    expect(component.db.databases).toEqual(['analytics', 'reports']);
    expect(screen.getByLabelText<HTMLInputElement>('New database').value).toBe('');
    const list = screen.getByRole('list', { name: 'Extra databases' });
    expect(
      within(list)
        .getAllByRole('listitem')
        .map((item) => item.textContent?.replace('Remove', '').trim()),
    ).toEqual(['analytics', 'reports']);
    expect(draft.valid).toBe(true);

    await fireEvent.click(screen.getByRole('button', { name: 'Remove database analytics' }));
    expect(component.db.databases).toEqual(['reports']);

    await fireEvent.click(screen.getByRole('button', { name: 'Remove database reports' }));
    expect(Object.hasOwn(component.db, 'databases')).toBe(false);
    expect(Object.keys(sentDb(draft))).not.toContain('databases');
    expect(screen.queryByRole('list', { name: 'Extra databases' })).toBeNull();
  });

  it('adds with Enter in the input', async () => {
    const { component } = show();

    const database = screen.getByLabelText('New database');
    await fireEvent.input(database, { target: { value: 'analytics' } });
    await fireEvent.keyDown(database, { key: 'Enter' });
    const role = screen.getByLabelText('New role');
    await fireEvent.input(role, { target: { value: 'reporting' } });
    await fireEvent.keyDown(role, { key: 'Enter' });

    expect(component.db.databases).toEqual(['analytics']);
    expect(component.db.roles).toEqual([{ name: 'reporting', access: 'readonly' }]);
  });

  it('refuses a duplicate name, or the application’s own, with a message at the input', async () => {
    const { component } = show();
    await addDatabase('analytics');

    await addDatabase('analytics');

    const input = screen.getByLabelText<HTMLInputElement>('New database');
    expect(component.db.databases).toEqual(['analytics']);
    expect(input.value).toBe('analytics');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(description(input)).toContain('is already one of the plan’s databases');

    await fireEvent.input(input, { target: { value: 'app' } });
    expect(input.getAttribute('aria-invalid')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Add database' }));
    expect(description(input)).toContain('is the application database already');

    await addRole('reporting');
    await addRole('reporting');
    expect(component.db.roles).toHaveLength(1);
    expect(description(screen.getByLabelText('New role'))).toContain('is already one of the plan’s roles');
  });

  it('refuses a name the schema refuses, with the schema’s own message', async () => {
    const { component, draft } = show();

    await addDatabase('Analytics');
    expect(description(screen.getByLabelText('New database'))).toContain('must be 1-63 lower-case letters');
    await addDatabase('pg_stats');
    expect(description(screen.getByLabelText('New database'))).toContain('is reserved by PostgreSQL or CloudSeed');
    await addRole('cloudseed_ops');
    expect(description(screen.getByLabelText('New role'))).toContain('is reserved by CloudSeed');

    expect(Object.hasOwn(component.db, 'databases')).toBe(false);
    expect(Object.hasOwn(component.db, 'roles')).toBe(false);
    expect(draft.valid).toBe(true);
  });

  it('shows the schema’s problem at a row, as when the application’s database takes its name', async () => {
    const { component } = show();
    await addDatabase('analytics');

    await fireEvent.input(screen.getByLabelText('Database name'), { target: { value: 'analytics' } });

    expect(component.db.databaseName).toBe('analytics');
    expect(description(screen.getByRole('button', { name: 'Remove database analytics' }))).toContain('is the application database already');
  });

  it('adds a role reading only, lets it read and write, and removes it, leaving no roles key', async () => {
    const { draft, component } = show();

    await addRole('reporting');

    expect(component.db.roles).toEqual([{ name: 'reporting', access: 'readonly' }]);
    const access = screen.getByRole<HTMLSelectElement>('combobox', { name: 'Access of role reporting' });
    expect(access.value).toBe('readonly');
    expect([...access.options].map((option) => [option.value, option.textContent])).toEqual([
      ['readonly', 'Read only'],
      ['readwrite', 'Read and write'],
    ]);

    await fireEvent.change(access, { target: { value: 'readwrite' } });
    expect(component.db.roles).toEqual([{ name: 'reporting', access: 'readwrite' }]);
    expect(draft.valid).toBe(true);

    await fireEvent.click(screen.getByRole('button', { name: 'Remove role reporting' }));
    expect(Object.keys(sentDb(draft))).not.toContain('roles');
    expect(screen.queryByRole('combobox', { name: 'Access of role reporting' })).toBeNull();
  });

  it('offers no roles on PostgreSQL 13, and says they need 14 or later', async () => {
    const { component } = show('13');

    const input = screen.getByLabelText<HTMLInputElement>('New role');
    const add = screen.getByRole<HTMLButtonElement>('button', { name: 'Add role' });
    expect(input.disabled).toBe(true);
    expect(add.disabled).toBe(true);
    expect(description(input)).toContain('Roles need PostgreSQL 14 or later.');
    expect(description(add)).toContain('Roles need PostgreSQL 14 or later.');

    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(Object.hasOwn(component.db, 'roles')).toBe(false);
  });

  it('asks to remove the roles when the version goes down to 13', async () => {
    const { draft } = show();
    await addRole('reporting');

    await fireEvent.change(screen.getByLabelText('PostgreSQL version'), { target: { value: '13' } });

    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Add role' }).disabled).toBe(true);
    expect(screen.getByText('Remove these roles or choose PostgreSQL 14 or later.')).toBeTruthy();
    expect(draft.valid).toBe(false);
  });

  it('has no serious accessibility violations, with rows and a problem showing', async () => {
    show();
    await addDatabase('analytics');
    await addRole('reporting');
    await addDatabase('analytics');

    expect(await seriousViolations()).toEqual([]);
  });

  it('has no serious accessibility violations on PostgreSQL 13', async () => {
    show('13');

    expect(await seriousViolations()).toEqual([]);
  });
});
