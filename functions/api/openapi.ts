import { json, route } from '../lib/http.ts';
import { openApiDocument } from '../lib/openapi.ts';

export const handler = route(() => Promise.resolve(json(200, openApiDocument, { 'cache-control': 'public, max-age=300' })));
