import { redirect } from '@sveltejs/kit';
import { safeNext } from '#lib/auth/next.ts';
import { session } from '#lib/auth/session.svelte.ts';
import type { PageLoad } from './$types';

// Already signed in: straight on to where the user was going.
export const load: PageLoad = ({ url }) => {
  if (session.signedIn) redirect(307, safeNext(url.searchParams.get('next')));
};
