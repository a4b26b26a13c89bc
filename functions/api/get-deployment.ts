import { componentSummaries, planStatus, statusReason } from '@cloudseed/shared/deployments/deployments';
import { backupResource } from '@cloudseed/shared/backups/backups';
import { componentById, databaseComponent, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { nextRun } from '@cloudseed/shared/cs-json/cron';
import { membersOf } from '@cloudseed/shared/deployments/connection';
import { databasesOf } from '@cloudseed/shared/postgres/access';
import { authedRoute } from '../lib/authed-route.ts';
import { backups } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { executionTimeline } from '../lib/workflows.ts';

/**
 * The deployment: every component's status (apps with their address and versions), and the
 * endpoint and backups of one database: `?component=<id>`, else the plan's first.
 */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const deployment = await deployments.get(user.sub, plan.id);
  // What was deployed says which components there are; before the first deploy, the plan does.
  const spec = deployment?.spec ?? plan.spec;
  const database =
    query.component !== undefined || postgresComponents(spec).length > 0 ? databaseComponent(spec, query.component, '?component') : undefined;
  const summaries = componentSummaries(spec, deployment);
  if (!deployment) return json(200, { status: planStatus(undefined), steps: [], components: summaries });
  const reason = statusReason(deployment);
  const steps = deployment.executionArn ? await executionTimeline(deployment.executionArn, deployment.spec.components.length > 1) : [];
  const components = deployment.components ?? [];
  const deployed = database ? componentById({ components }, database.id) : undefined;
  const primary = deployed?.nodes.find((node) => node.role === 'primary');
  const backupSpec = database?.db.backup ?? { enabled: false, schedule: '', timezone: 'UTC' };
  // Newest first: one page holds the newest backup of each database the plan backs up on schedule.
  const lastBackup =
    backupSpec.enabled && database ? (await backups.list(user.sub, plan.id)).find((backup) => backup.componentId === database.id) : undefined;
  // A stopped plan's scheduled backups are skipped until it starts again.
  const next =
    backupSpec.enabled && deployment.status !== 'deleting' && deployment.status !== 'stopped'
      ? nextRun(backupSpec.schedule, backupSpec.timezone, new Date())
      : undefined;
  return json(200, {
    status: planStatus(deployment),
    ...(reason ? { reason } : {}),
    deploymentId: deployment.deploymentId,
    mode: deployment.mode,
    startedAt: deployment.startedAt,
    ...(deployment.endedAt ? { endedAt: deployment.endedAt } : {}),
    steps,
    components: summaries,
    ...(primary && deployed
      ? {
          endpoint: {
            host: primary.host,
            port: primary.port,
            database: deployed.databaseName,
            username: deployed.username,
            ...(deployed.nodes.length > 1 ? { members: membersOf(deployed.nodes) } : {}),
            ...(deployed.endpoint ? { loadBalancer: deployed.endpoint } : {}),
            // The plan's other databases and roles, as deployed (a role's password: POST …/roles/{role}/password).
            ...(database?.db.databases?.length ? { databases: databasesOf(database) } : {}),
            ...(database?.db.roles?.length ? { roles: database.db.roles } : {}),
          },
        }
      : {}),
    ...(components.length > 0
      ? {
          nodes: components.flatMap((component) =>
            component.nodes.map((node) => ({
              component: component.id,
              name: node.name,
              role: node.role,
              host: node.host,
              port: node.port,
              healthy: node.healthy ?? true,
              ...(node.detail ? { detail: node.detail } : {}),
              ...(node.ha ? { ha: node.ha } : {}),
            })),
          ),
        }
      : {}),
    ...(backupSpec.enabled
      ? {
          backup: {
            schedule: backupSpec.schedule,
            timezone: backupSpec.timezone,
            ...(next ? { nextRunAt: next.toISOString() } : {}),
            ...(lastBackup ? { lastBackup: backupResource(lastBackup) } : {}),
          },
        }
      : {}),
    ...(deployment.executionArn ? { executionArn: deployment.executionArn } : {}),
  });
});
