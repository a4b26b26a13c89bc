import { ValidationFailed } from '../errors.ts';
import type { AppComponent, Component, Plan, PostgresComponent } from './schema.ts';

// Components are addressed by id, never by position: a plan may hold several, of several kinds.

export function componentById<C extends { readonly id: string }>(plan: { readonly components: readonly C[] }, id: string): C | undefined {
  return plan.components.find((component) => component.id === id);
}

export function postgresComponents(plan: Pick<Plan, 'components'>): PostgresComponent[] {
  return plan.components.filter((component: Component): component is PostgresComponent => component.type === 'postgres');
}

export function appComponents(plan: Pick<Plan, 'components'>): AppComponent[] {
  return plan.components.filter((component: Component): component is AppComponent => component.type === 'app');
}

/**
 * The database a request acts on: the postgres component `id` names, or without one the plan's
 * first postgres component (its only one in most plans). `field` is where the caller wrote the id,
 * so a problem points there.
 */
export function databaseComponent(plan: Pick<Plan, 'components'>, id: string | undefined, field: string): PostgresComponent {
  const databases = postgresComponents(plan);
  const component = id === undefined ? databases[0] : databases.find((candidate) => candidate.id === id);
  if (component) return component;
  const known = databases.map((database) => database.id).join(', ') || 'none';
  const message =
    id === undefined ? `is required: the plan's database components are ${known}` : `names no database component of this plan; it has ${known}`;
  throw new ValidationFailed(
    [{ path: field, message }],
    id === undefined ? 'Name the database component; see errors.' : `The plan has no database component ${id}; see errors.`,
  );
}
