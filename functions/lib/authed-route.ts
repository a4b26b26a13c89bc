import { authenticate } from './auth.ts';
import { route } from './http.ts';
import type { ApiRequest, Reply, User } from './http.ts';

export type AuthedRequest = ApiRequest & { readonly user: User };

/** A route that needs a Cognito access token; the handler always sees the caller. */
export function authedRoute(fn: (request: AuthedRequest) => Promise<Reply>, options: { body?: boolean | 'optional' } = {}) {
  return route(
    (request) => {
      if (!request.user) throw new Error('authenticate middleware did not run');
      return fn({ ...request, user: request.user });
    },
    [authenticate()],
    options,
  );
}
