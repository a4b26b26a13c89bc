import { componentById } from '../cs-json/components.ts';
import type { Plan } from '../cs-json/schema.ts';
import type { FieldProblem } from '../errors.ts';

/**
 * What a re-deploy cannot do to a running deployment without losing data: shrink a disk, change
 * the PostgreSQL major, change the OS, rename the database or its role. Everything else (size,
 * connections, tuning, networks, replicas, backups) is reconciled in place.
 */
export function redeployProblems(running: Plan, next: Plan): FieldProblem[] {
  const problems: FieldProblem[] = [];
  next.components.forEach((component, index) => {
    const current = componentById(running, component.id);
    if (!current) return;
    const base = `/components/${index}`;
    if (current.type !== component.type) {
      problems.push({ path: `${base}/type`, message: `${component.id} runs as ${current.type}; remove it and add a new component instead` });
      return;
    }
    if (component.type !== 'postgres' || current.type !== 'postgres') return;
    if (component.hardware.storage.sizeGiB < current.hardware.storage.sizeGiB) {
      problems.push({
        path: `${base}/hardware/storage/sizeGiB`,
        message: `disks only grow: the running disk is ${current.hardware.storage.sizeGiB} GiB`,
      });
    }
    if (component.db.version !== current.db.version) {
      problems.push({
        path: `${base}/db/version`,
        message: `PostgreSQL ${current.db.version} is running; a major upgrade needs a new plan and a restore from backup`,
      });
    }
    if (component.os.name !== current.os.name || component.os.version !== current.os.version) {
      problems.push({ path: `${base}/os`, message: `the running nodes use ${current.os.name} ${current.os.version}; the OS cannot change in place` });
    }
    if (component.db.databaseName !== current.db.databaseName) {
      problems.push({
        path: `${base}/db/databaseName`,
        message: `the running database is ${current.db.databaseName}; it cannot be renamed by a re-deploy`,
      });
    }
    if (component.db.username !== current.db.username) {
      problems.push({ path: `${base}/db/username`, message: `the running role is ${current.db.username}; it cannot be renamed by a re-deploy` });
    }
  });
  running.components.forEach((component) => {
    if (!componentById(next, component.id)) {
      problems.push({ path: '/components', message: `component ${component.id} is running; delete the plan to remove it` });
    }
  });
  if (JSON.stringify(running.target) !== JSON.stringify(next.target)) {
    problems.push({ path: '/target', message: 'the target of a running deployment cannot change' });
  }
  return problems;
}
