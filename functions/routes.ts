// The HTTP API's routes, in API Gateway's route syntax. The local cloud's HTTP adapter and the
// CDK Api construct both read this table, so a route exists in both places or in neither.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway route path, e.g. `/v1/plan/{id}`. */
  readonly path: string;
  /** Handler module, relative to `functions/`; it exports `handler`. */
  readonly module: string;
  /** Whether the route needs a Cognito access token. */
  readonly auth: boolean;
}

export const routes: readonly Route[] = [
  { method: 'GET', path: '/v1/health', module: 'api/health.ts', auth: false },
  { method: 'GET', path: '/v1/openapi.json', module: 'api/openapi.ts', auth: false },
  { method: 'GET', path: '/v1/docs', module: 'api/docs.ts', auth: false },
  { method: 'POST', path: '/v1/plan', module: 'api/create-plan.ts', auth: true },
  { method: 'GET', path: '/v1/plan', module: 'api/list-plans.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}', module: 'api/get-plan.ts', auth: true },
  { method: 'PUT', path: '/v1/plan/{id}', module: 'api/update-plan.ts', auth: true },
  { method: 'DELETE', path: '/v1/plan/{id}', module: 'api/delete-plan.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/deploy', module: 'api/deploy-plan.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/deployment', module: 'api/get-deployment.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/deployment/credentials', module: 'api/get-credentials.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/backups', module: 'api/list-backups.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/backups', module: 'api/run-backup.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/backups/{backupId}/restore', module: 'api/restore-backup.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/backups/{backupId}/download', module: 'api/download-backup.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/backups/{backupId}/validate', module: 'api/validate-backup.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/recovery-window', module: 'api/get-recovery-window.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/metrics', module: 'api/get-metrics.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/queries', module: 'api/get-queries.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/queries/reset', module: 'api/reset-queries.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/alerts', module: 'api/get-alerts.ts', auth: true },
  { method: 'PUT', path: '/v1/plan/{id}/alerts/settings', module: 'api/put-alert-settings.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/restore', module: 'api/restore-point-in-time.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/switchover', module: 'api/switchover.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/stop', module: 'api/stop-plan.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/start', module: 'api/start-plan.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/roles/{role}/password', module: 'api/set-role-password.ts', auth: true },
  { method: 'GET', path: '/v1/plan/{id}/components/{componentId}/logs', module: 'api/get-component-logs.ts', auth: true },
  { method: 'POST', path: '/v1/plan/{id}/components/{componentId}/rollback', module: 'api/rollback-component.ts', auth: true },
  { method: 'PUT', path: '/v1/plan/{id}/components/{componentId}/secrets', module: 'api/put-component-secrets.ts', auth: true },
  { method: 'GET', path: '/v1/client-address', module: 'api/get-client-address.ts', auth: true },
  { method: 'GET', path: '/v1/accounts', module: 'api/list-accounts.ts', auth: true },
  { method: 'POST', path: '/v1/accounts', module: 'api/create-account.ts', auth: true },
  { method: 'DELETE', path: '/v1/accounts/{id}', module: 'api/delete-account.ts', auth: true },
];
