import { appComponents, postgresComponents } from '../../cs-json/components.ts';
import type { Plan } from '../../cs-json/schema.ts';
import { renderPgHba, tuneComponent } from '../../postgres/config.ts';
import { planNodes } from '../../postgres/nodes.ts';
import { componentCost } from '../aws/cost.ts';
import type { RenderContext } from '../version.ts';
import { TRANSFORMER_VERSION } from '../version.ts';

// The local cloud's deployment document: the same tuning and pg_hba as on AWS, with loopback as
// the only network. Ports and paths are chosen when the instance starts, so they are not here.

export const LOCAL_JSON_VERSION = 'cs-local/v1';
export const LOOPBACK_CIDRS = ['127.0.0.1/32', '::1/128'] as const;

export function renderLocalJson(plan: Plan, context: RenderContext) {
  return {
    apiVersion: LOCAL_JSON_VERSION,
    transformerVersion: TRANSFORMER_VERSION,
    planId: context.planId,
    planName: plan.name,
    components: postgresComponents(plan).map((component) => {
      const tuned = tuneComponent(component);
      return {
        id: component.id,
        nodes: planNodes(component),
        postgres: {
          major: Number(component.db.version),
          databaseName: component.db.databaseName,
          username: component.db.username,
          memoryGiB: component.hardware.memoryGiB,
          settings: tuned.settings,
          warnings: tuned.warnings,
          pgHbaConf: renderPgHba(component, { extraCidrs: LOOPBACK_CIDRS }),
        },
        backup: component.db.backup,
        awsCostEstimate: componentCost(component),
      };
    }),
    apps: appComponents(plan).map((app) => ({
      id: app.id,
      source: app.source,
      run: app.run,
      healthCheck: app.healthCheck,
      database: app.database?.component,
    })),
  };
}
