import { randomBytes } from 'node:crypto';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import type { BackupKind } from '@cloudseed/shared/backups/backups';
import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type { FieldProblem } from '@cloudseed/shared';
import { authedRoute } from '../lib/authed-route.ts';
import { backupLocationFor, openBackup } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { quotas } from '../lib/usage.ts';
import { startBackup } from '../lib/backup-workflow.ts';

const TYPES: readonly ArchiveBackupType[] = ['full', 'diff', 'incr'];

/**
 * Run now: backs up the database `?component=<id>` names, else the plan's first. With no body, or
 * `{ "type": "full" | "diff" | "incr" }`, a pgBackRest backup (a full by default); with
 * `{ "kind": "logical" }`, a pg_dump export to download. Counts against the daily limit (429 past
 * it), takes the backup lock (409 while one runs), opens the record, starts the backup workflow.
 */
export const handler = authedRoute(
  async ({ user, params, query, body }) => {
    const request = parseRequest(body);
    const plan = await plans.get(user.sub, params.id ?? '');
    const deployment = await deployments.get(user.sub, plan.id);
    const componentId = databaseComponent(deployment?.spec ?? plan.spec, query.component, '?component').id;
    if (deployment?.status !== 'running' || !componentById({ components: deployment.components ?? [] }, componentId))
      throw new Conflict(
        deployment?.status === 'stopped'
          ? 'The plan is stopped; start it before backing it up.'
          : 'The plan is not running; deploy it before backing it up.',
      );
    const now = new Date();
    const backupId = newBackupId(now, randomBytes(4).toString('hex'));
    // Before the lock: an AWS plan whose account is gone has nowhere to put a backup (409).
    await backupLocationFor(user.sub, deployment.spec.target, { planId: plan.id, componentId, backupId }, request.kind);
    await quotas.startBackup(user.sub, async () => {
      await deployments.claimBackup(user.sub, plan.id, backupId);
      try {
        await openBackup(deployment.spec.target, { ownerId: user.sub, planId: plan.id, componentId, backupId, trigger: 'manual', ...request, now });
        await startBackup({ ownerId: user.sub, planId: plan.id, componentId, backupId });
      } catch (error) {
        await deployments.releaseBackup(user.sub, plan.id, backupId, undefined);
        throw error;
      }
    });
    return json(202, { backupId, kind: request.kind, ...(request.type ? { type: request.type } : {}) }, { location: `/v1/plan/${plan.id}/backups` });
  },
  { body: 'optional' },
);

function parseRequest(body: unknown): { kind: BackupKind; type?: ArchiveBackupType } {
  if (body === undefined) return { kind: 'physical', type: 'full' };
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('Send no body, { "type": "full" | "diff" | "incr" } or { "kind": "logical" }.', [{ path: '/', message: 'must be an object' }]);
  const fields = body as Record<string, unknown>;
  const problems: FieldProblem[] = Object.keys(fields)
    .filter((name) => name !== 'kind' && name !== 'type')
    .map((name) => ({ path: `/${name}`, message: 'is not a field of a backup request' }));
  const kind = fields.kind ?? 'physical';
  if (kind !== 'physical' && kind !== 'logical') problems.push({ path: '/kind', message: 'must be "physical" (pgBackRest) or "logical" (pg_dump)' });
  const type = fields.type ?? (kind === 'physical' ? 'full' : undefined);
  if (kind === 'logical' && type !== undefined)
    problems.push({ path: '/type', message: 'is for physical backups only; a logical export has no type' });
  else if (kind === 'physical' && !TYPES.includes(type as ArchiveBackupType))
    problems.push({ path: '/type', message: 'must be "full", "diff" or "incr"' });
  if (problems.length > 0) throw badRequest('The backup request is not valid; see errors.', problems);
  return kind === 'logical' ? { kind: 'logical' } : { kind: 'physical', type: type as ArchiveBackupType };
}
