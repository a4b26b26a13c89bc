import { error, redirect } from '@sveltejs/kit';
import { api, ApiError, SignedOut } from '#lib/api/index.ts';
import { loadConfig } from '#lib/config.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params, url }) => {
  try {
    const [config, accounts, plan] = await Promise.all([loadConfig(), api.listAccounts().catch(() => []), api.getPlan(params.id)]);
    return { config, accounts, plan: plan.value, etag: plan.etag };
  } catch (failure) {
    if (failure instanceof SignedOut) redirect(307, `/login?next=${encodeURIComponent(url.pathname)}`);
    if (failure instanceof ApiError && failure.status === 404) error(404, 'There is no such plan. It may have been deleted.');
    throw failure;
  }
};
