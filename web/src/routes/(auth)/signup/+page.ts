import { redirect } from '@sveltejs/kit';
import { AFTER_SIGN_IN } from '#lib/auth/next.ts';
import { session } from '#lib/auth/session.svelte.ts';
import type { PageLoad } from './$types';

// Already signed in: there is nothing to sign up for.
export const load: PageLoad = () => {
  if (session.signedIn) redirect(307, AFTER_SIGN_IN);
};
