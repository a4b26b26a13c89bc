import { z } from 'zod';
import { planSchema } from './schema.ts';

/** cs-json v1 as a JSON Schema (2020-12) document, for editors, other languages and the OpenAPI document. */
export const planJsonSchema = {
  ...z.toJSONSchema(planSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  $id: 'https://cloudseed.dev/schemas/cs-json/v1.json',
  title: 'CloudSeed plan (cs-json v1)',
};
