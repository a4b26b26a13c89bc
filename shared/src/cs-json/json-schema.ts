import * as z from 'zod';
import { planSchema, targetUnion } from './schema.ts';
import { shorthandSchema } from './shorthand.ts';

/** cs-json v1 as a JSON Schema (2020-12) document, for editors, other languages and the OpenAPI document. */
export const planJsonSchema = {
  ...z.toJSONSchema(planSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  $id: 'https://cloudseed.dev/schemas/cs-json/v1.json',
  title: 'CloudSeed plan (cs-json v1)',
};

/** The original spec's shorthand plan body as a JSON Schema (2020-12) document. */
export const shorthandJsonSchema = {
  ...z.toJSONSchema(shorthandSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }),
  title: 'CloudSeed plan shorthand (original spec)',
};

/** A normalised plan (every default filled), as the API returns it. */
export const normalisedPlanJsonSchema = {
  // The target's transform (a GCP zone filled in) has no JSON Schema; its output is the same union.
  ...z.toJSONSchema(planSchema.extend({ target: targetUnion }), { io: 'output', target: 'draft-2020-12', unrepresentable: 'any' }),
  title: 'CloudSeed plan (cs-json v1, normalised)',
};
