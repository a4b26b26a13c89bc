import { routes as allRoutes } from '@cloudseed/functions/routes';
import { fileURLToPath } from 'node:url';

// The routes whose handlers load with what the local cloud provides so far: identity and tables.
// The deploy and teardown routes also need the local Step Functions (DEPLOY_STATE_MACHINE_ARN, ...);
// until start.ts starts it, test/local-cloud.test.ts runs its local clouds on this table through
// CLOUDSEED_ROUTES. Remove it once every route of functions/routes.ts loads.

const loadable = new Set(['api/health.ts', 'api/openapi.ts', 'api/docs.ts', 'api/create-plan.ts', 'api/list-plans.ts', 'api/get-plan.ts', 'api/update-plan.ts']);

export const routes = allRoutes.filter((route) => loadable.has(route.module));

/** This module's path, for CLOUDSEED_ROUTES. */
export const routesWithoutWorkflows = fileURLToPath(import.meta.url);
