import { json, route } from '../lib/http.ts';

export const handler = route(() => Promise.resolve(json(200, { status: 'ok' })));
