import type { PostgresComponent } from '../cs-json/schema.ts';
import { renderPgHba, tuneComponent } from '../postgres/config.ts';
import type { HbaOptions } from '../postgres/config.ts';
import { POSTGRES_PORT } from '../postgres/nodes.ts';

// What every cloud's deployment document says the same way: the server a component runs, and when
// its backups are taken and kept.

export interface PostgresSection {
  readonly major: number;
  readonly port: number;
  readonly databaseName: string;
  readonly username: string;
  /** pgtune's settings for the component's size and workload, and what it warns of. */
  readonly settings: Record<string, string>;
  readonly warnings: readonly string[];
  readonly pgHbaConf: string;
}

export interface BackupSchedule {
  readonly enabled: boolean;
  readonly cron: string;
  readonly timezone: string;
  readonly retentionDays: number;
  readonly validate: boolean;
}

export function postgresSection(component: PostgresComponent, hba: HbaOptions): PostgresSection {
  const tuned = tuneComponent(component);
  return {
    major: Number(component.db.version),
    port: POSTGRES_PORT,
    databaseName: component.db.databaseName,
    username: component.db.username,
    settings: tuned.settings,
    warnings: tuned.warnings,
    pgHbaConf: renderPgHba(component, hba),
  };
}

export function backupSchedule(component: PostgresComponent): BackupSchedule {
  const { enabled, schedule, timezone, retentionDays, validate } = component.db.backup;
  return { enabled, cron: schedule, timezone, retentionDays, validate };
}
