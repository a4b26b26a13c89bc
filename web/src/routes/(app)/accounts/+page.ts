import { loadConfig } from '#lib/config.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ config: await loadConfig() });
