import type { Route } from '@cloudseed/functions/routes';
import { access } from 'node:fs/promises';
import type { ApiHandler, LoadedRoute } from './http-adapter.ts';

/** functions/, which route modules are relative to. */
export const functionsDirectory = new URL('.', import.meta.resolve('@cloudseed/functions/routes'));

/** The route table, functions/routes.ts: the same one the CDK Api construct reads. */
export async function routeTable(): Promise<readonly Route[]> {
  const { routes } = await import('@cloudseed/functions/routes');
  return routes;
}

/**
 * Imports every route's handler module, failing on the first one that is missing or broken: a
 * local cloud that starts serves every route it lists. Call only once the environment is set,
 * since handlers read it (and hydrate their JWT verifier) as they load.
 */
export async function loadRoutes(routes: readonly Route[]): Promise<LoadedRoute[]> {
  const loaded: LoadedRoute[] = [];
  for (const route of routes) {
    const file = new URL(route.module, functionsDirectory);
    const where = `route ${route.method} ${route.path}: functions/${route.module}`;
    try {
      await access(file);
    } catch {
      throw new Error(`${where} does not exist`);
    }
    let module: { handler?: unknown };
    try {
      module = (await import(file.href)) as { handler?: unknown };
    } catch (error) {
      throw new Error(`${where} failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (typeof module.handler !== 'function') throw new Error(`${where} does not export a handler function`);
    loaded.push({ ...route, functionName: functionName(route.module), handler: module.handler as ApiHandler });
  }
  return loaded;
}

/** `api/get-plan.ts` → `cloudseed-api-get-plan`, the name its Lambda function gets. */
export function functionName(module: string): string {
  return `cloudseed-${module.replace(/\.[cm]?[jt]s$/, '').replaceAll('/', '-')}`;
}
