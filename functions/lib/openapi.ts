import { normalisedPlanJsonSchema, planJsonSchema, shorthandJsonSchema } from '@cloudseed/shared/cs-json/json-schema';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, planStatuses } from '@cloudseed/shared/plans/plans';
import { MAX_BODY_BYTES } from './http.ts';

// The OpenAPI 3.1 document, built from the same zod schemas the handlers validate with. OpenAPI
// 3.1 schemas are JSON Schema 2020-12, so the generated documents are embedded as they are.

function embedded(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const planResponse = (description: string) => ({
  description,
  headers: { ETag: { description: 'The plan version, for If-Match', schema: { type: 'string' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Plan' } } },
});
const planIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const ifMatch = { name: 'If-Match', in: 'header', required: false, description: 'The ETag you read; a stale one is refused with 412.', schema: { type: 'string' } };
const planBody = {
  required: true,
  description: `A cs-json v1 document, or the original spec's shorthand. At most ${MAX_BODY_BYTES} bytes.`,
  content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/PlanInput' }, { $ref: '#/components/schemas/PlanShorthand' }] } } },
};
const authErrors = { 401: problem('Missing or invalid access token'), 404: problem('No such plan for this account') };
const bodyErrors = { 400: problem('Invalid body; `errors` lists each field'), 413: problem('Body too large'), 415: problem('Body is not application/json') };

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'CloudSeed API',
    version: '1.0.0',
    description: 'Design, deploy and operate PostgreSQL in your own AWS account. Every error is an RFC 9457 problem document.',
  },
  servers: [{ url: '/' }],
  security: [{ cognito: [] }],
  paths: {
    '/v1/health': { get: { summary: 'Health check', security: [], responses: { 200: { description: 'The API is up' } } } },
    '/v1/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: { description: 'OpenAPI 3.1 document' } } } },
    '/v1/docs': { get: { summary: 'Browsable API documentation', security: [], responses: { 200: { description: 'HTML page' } } } },
    '/v1/plan': {
      post: {
        summary: 'Create a plan',
        requestBody: planBody,
        responses: { 201: planResponse('The stored plan, normalised'), ...bodyErrors, 401: authErrors[401] },
      },
      get: {
        summary: 'List your plans',
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE } },
          { name: 'nextToken', in: 'query', schema: { type: 'string' }, description: 'From the previous page' },
        ],
        responses: {
          200: { description: 'A page of plans', content: { 'application/json': { schema: { $ref: '#/components/schemas/PlanList' } } } },
          400: problem('Invalid limit or nextToken'),
          401: authErrors[401],
        },
      },
    },
    '/v1/plan/{id}': {
      parameters: [planIdParameter],
      get: { summary: 'Read a plan', responses: { 200: planResponse('The plan'), ...authErrors } },
      put: {
        summary: 'Replace a plan',
        parameters: [ifMatch],
        requestBody: planBody,
        responses: { 200: planResponse('The updated plan'), ...bodyErrors, ...authErrors, 412: problem('If-Match no longer matches') },
      },
      delete: {
        summary: 'Delete a plan',
        parameters: [ifMatch],
        responses: { 204: { description: 'Deleted' }, ...authErrors, 412: problem('If-Match no longer matches') },
      },
    },
  },
  components: {
    securitySchemes: { cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito access token of the CloudSeed app client' } },
    schemas: {
      PlanInput: embedded(planJsonSchema),
      PlanShorthand: embedded(shorthandJsonSchema),
      NormalisedPlan: embedded(normalisedPlanJsonSchema),
      Plan: {
        type: 'object',
        required: ['id', 'version', 'createdAt', 'updatedAt', 'spec', 'status'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          version: { type: 'integer', minimum: 1 },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          spec: { $ref: '#/components/schemas/NormalisedPlan' },
          status: { enum: [...planStatuses] },
        },
      },
      PlanList: {
        type: 'object',
        required: ['items'],
        properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Plan' } }, nextToken: { type: 'string' } },
      },
      Problem: {
        type: 'object',
        required: ['type', 'status', 'title', 'detail'],
        properties: {
          type: { type: 'string' },
          status: { type: 'integer' },
          title: { type: 'string' },
          detail: { type: 'string' },
          errors: {
            type: 'array',
            items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
} as const;
