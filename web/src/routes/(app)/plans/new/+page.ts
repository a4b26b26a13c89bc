import { api } from '#lib/api/index.ts';
import { loadConfig } from '#lib/config.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
  const [config, accounts] = await Promise.all([loadConfig(), api.listAccounts().catch(() => [])]);
  return { config, accounts };
};
