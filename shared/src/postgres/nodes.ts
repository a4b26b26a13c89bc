import type { PostgresComponent } from '../cs-json/schema.ts';
import type { NodeRole } from './config.ts';

/** PostgreSQL's default port; every target serves it there unless it has to pick another (the local cloud). */
export const POSTGRES_PORT = 5432;

/** One server of a component, before any cloud has placed it. */
export interface PlannedNode {
  readonly name: string;
  readonly role: NodeRole;
}

export function nodeCount(component: PostgresComponent): number {
  return component.db.topology.mode === 'cluster' ? 1 + component.db.topology.replicas : 1;
}

/** `<component>-0` is the primary, `<component>-1…` its streaming replicas. */
export function planNodes(component: PostgresComponent): PlannedNode[] {
  return Array.from({ length: nodeCount(component) }, (_, index) => ({
    name: `${component.id}-${index}`,
    role: index === 0 ? 'primary' : 'replica',
  }));
}
