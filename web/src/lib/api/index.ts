import { session } from '../auth/session.svelte.ts';
import { ApiClient } from './client.ts';

export { ApiError, SignedOut } from './client.ts';
export type * from './types.ts';

/** The API as the signed-in user. */
export const api = new ApiClient(() => session.accessToken());
