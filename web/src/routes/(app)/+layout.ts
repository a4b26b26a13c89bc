import { redirect } from '@sveltejs/kit';
import { session } from '#lib/auth/session.svelte.ts';
import type { LayoutLoad } from './$types';

// Signed-in pages: anyone else goes to log in, and comes back here afterwards.
export const load: LayoutLoad = ({ url }) => {
  if (!session.signedIn) redirect(307, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
};
