import { PermanentError } from './errors.ts';
import type { Provider } from './provider.ts';

// The part of the Provider port a cloud's provider does not do yet: backups and point-in-time
// recovery. Each refuses with the reason, a PermanentError the workflow fails with,
// rather than pretending; a provider takes these methods until it builds its own.

type Unbuilt = Pick<
  Provider,
  | 'backup'
  | 'validateBackup'
  | 'restoreBackup'
  | 'deleteBackup'
  | 'archiveBackup'
  | 'validateArchiveBackup'
  | 'recoveryWindow'
  | 'restoreToPoint'
  | 'rebuildReplicas'
>;

/** The methods, each refusing with "<what> on <cloud> is not available yet". */
export function unbuiltOn(cloud: string): Unbuilt {
  const refuse = (what: string) => () => Promise.reject(new PermanentError(`${what} on ${cloud} is not available yet`));
  return {
    backup: refuse('backups'),
    validateBackup: refuse('validating backups'),
    restoreBackup: refuse('restoring backups'),
    deleteBackup: refuse('deleting backups'),
    archiveBackup: refuse('continuous archiving (pgBackRest backups)'),
    validateArchiveBackup: refuse('validating pgBackRest backups'),
    recoveryWindow: refuse('point-in-time recovery'),
    restoreToPoint: refuse('point-in-time recovery'),
    rebuildReplicas: refuse('rebuilding replicas'),
  };
}
