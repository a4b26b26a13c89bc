import { alertSettingsJsonSchema } from '@cloudseed/shared/alerts/alerts';
import { METRIC_NAMES } from '@cloudseed/shared/metrics/catalog';
import { normalisedPlanJsonSchema, planJsonSchema, shorthandJsonSchema } from '@cloudseed/shared/cs-json/json-schema';
import { connectAccountJsonSchema, MAX_ACCOUNTS } from '@cloudseed/shared/accounts/accounts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, planStatuses } from '@cloudseed/shared/plans/plans';
import { MAX_BODY_BYTES } from './http.ts';
import { limits } from './quotas.ts';

// The OpenAPI 3.1 document, built from the same zod schemas the handlers validate with. OpenAPI
// 3.1 schemas are JSON Schema 2020-12, so the generated documents are embedded as they are.

function embedded(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const planResponse = (description: string) => ({
  description,
  headers: { ETag: { description: 'The plan version, for If-Match', schema: { type: 'string' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Plan' } } },
});
const planIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const backupIdParameter = { name: 'backupId', in: 'path', required: true, schema: { type: 'string' } };
const componentIdParameter = { name: 'componentId', in: 'path', required: true, schema: { type: 'string' } };
const componentParameter = {
  name: 'component',
  in: 'query',
  required: false,
  description: "The id of the plan's database component to act on; without it, the plan's first database component.",
  schema: { type: 'string' },
};
const unknownComponent = problem('`component` names no database component of the plan; `errors` names `?component`');
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'The ETag you read; a stale one is refused with 412.',
  schema: { type: 'string' },
};
const planBody = {
  required: true,
  description: `A cs-json v1 document, or the original spec's shorthand. At most ${MAX_BODY_BYTES} bytes.`,
  content: {
    'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/PlanInput' }, { $ref: '#/components/schemas/PlanShorthand' }] } },
  },
};
const dailyLimit = {
  ...problem(`You started ${limits.backupsPerDay} backups and restores today (UTC), the most an account may; scheduled backups do not count`),
  headers: { 'Retry-After': { description: 'Seconds until midnight UTC, when the count starts again', schema: { type: 'integer', minimum: 1 } } },
};
const authErrors = { 401: problem('Missing or invalid access token'), 404: problem('No such plan for this account') };
const bodyErrors = {
  400: problem('Invalid body; `errors` lists each field'),
  413: problem('Body too large'),
  415: problem('Body is not application/json'),
};

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
        responses: {
          201: planResponse('The stored plan, normalised'),
          ...bodyErrors,
          401: authErrors[401],
          409: problem(`You have ${limits.plans} plans, the most an account may have; nothing was stored`),
        },
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
    '/v1/plan/{id}/deploy': {
      parameters: [planIdParameter],
      post: {
        summary: 'Deploy the plan: create what is missing or reconcile what runs',
        responses: {
          202: {
            description: 'Started',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['deploymentId', 'mode'],
                  properties: { deploymentId: { type: 'string' }, mode: { enum: ['create', 'update'] } },
                },
              },
            },
          },
          400: problem(
            'The change cannot be applied to the running deployment, or a plan on AWS names no connected account (`/target/accountId`); `errors` says why',
          ),
          409: problem(
            `A deployment, teardown or backup is in progress, or your deployed plans would run more than ${limits.runningNodes} nodes (a cluster runs 1 + replicas)`,
          ),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/deployment': {
      parameters: [planIdParameter, componentParameter],
      get: {
        summary: 'Status, steps timeline and nodes of the deployment, with the endpoint and backups of one database',
        responses: {
          200: { description: 'The deployment', content: { 'application/json': { schema: { $ref: '#/components/schemas/Deployment' } } } },
          400: unknownComponent,
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/deployment/credentials': {
      parameters: [planIdParameter, componentParameter],
      get: {
        summary: "Connection details with the password (the only route that returns it) and the plan's CA certificate",
        description:
          "Servers present a certificate signed by the plan's own CA. Save `caCertificate` as `caFileName` where the client runs: `uri` says `sslmode=verify-full&sslrootcert=<caFileName>`, which libpq (psql) and node-postgres both honour.",
        responses: {
          200: {
            description: 'Credentials',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['host', 'port', 'database', 'username', 'password', 'uri', 'caCertificate', 'caFileName'],
                  properties: {
                    host: { type: 'string' },
                    port: { type: 'integer' },
                    database: { type: 'string' },
                    username: { type: 'string' },
                    password: { type: 'string' },
                    uri: {
                      type: 'string',
                      description:
                        'postgresql:// URI with the password, sslmode=verify-full and sslrootcert; for a cluster every member with target_session_attrs=read-write',
                    },
                    readOnlyUri: { type: 'string', description: 'Clusters: the same members with target_session_attrs=prefer-standby' },
                    loadBalancerUri: {
                      type: 'string',
                      description:
                        "AWS clusters with automatic failover: one host, the internal load balancer that forwards to the leader (inside the plan's VPC)",
                    },
                    caCertificate: { type: 'string', description: "PEM certificate of the plan's CA" },
                    caFileName: { type: 'string', description: 'the file name the URI expects the CA certificate under' },
                  },
                },
              },
            },
          },
          400: unknownComponent,
          409: problem('Not deployed yet'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/backups': {
      parameters: [planIdParameter],
      get: { summary: 'Backups, newest first', responses: { 200: { description: 'Backups' }, ...authErrors } },
      post: {
        summary:
          'Back up one database now: a pgBackRest backup (a full unless `type` says otherwise), or a pg_dump export with { "kind": "logical" }',
        parameters: [componentParameter],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: { kind: { enum: ['physical', 'logical'] }, type: { enum: ['full', 'diff', 'incr'] } },
              },
            },
          },
        },
        responses: {
          202: { description: 'Started; returns { backupId, kind, type? }' },
          400: problem('`component` names no database component of the plan, or the body is not valid; `errors` names the field'),
          409: problem('Not running, or a backup is already running'),
          429: dailyLimit,
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/backups/{backupId}/restore': {
      parameters: [planIdParameter, backupIdParameter],
      post: {
        summary: "Restore a backup into the running deployment: a physical backup rebuilds the cluster as it was at the backup's end",
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', required: ['confirm'], additionalProperties: false, properties: { confirm: { const: true } } },
            },
          },
        },
        responses: {
          202: { description: 'Restoring' },
          400: problem('Not confirmed'),
          409: problem('Not running or busy'),
          429: dailyLimit,
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/backups/{backupId}/validate': {
      parameters: [planIdParameter, backupIdParameter],
      post: {
        summary: 'Prove a backup again by restoring it into a scratch database',
        responses: { 202: { description: 'Validation started' }, 409: problem('Busy'), ...authErrors },
      },
    },
    '/v1/plan/{id}/metrics': {
      parameters: [planIdParameter],
      get: {
        summary: 'Each database node’s metrics over a range, in steps (the mean of its samples in each; null where it kept none)',
        parameters: [
          {
            name: 'names',
            in: 'query',
            required: true,
            description: `Comma-separated, at most 12 of: ${METRIC_NAMES.join(', ')}`,
            schema: { type: 'string' },
          },
          {
            name: 'from',
            in: 'query',
            description: 'ISO 8601 time or seconds since the epoch; default an hour before to',
            schema: { type: 'string' },
          },
          { name: 'to', in: 'query', description: 'ISO 8601 time or seconds since the epoch; default now', schema: { type: 'string' } },
          {
            name: 'step',
            in: 'query',
            description: 'Seconds: 10, 60, 300, 900 or 3600 (default 60); at most 1440 points',
            schema: { type: 'integer' },
          },
        ],
        responses: {
          200: {
            description: '{ from, to, step, components: [{ id, nodes: [{ name, role, series: [{ name, unit, points: [[time, value|null]] }] }] }] }',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['from', 'to', 'step', 'components'],
                  properties: {
                    from: { type: 'number' },
                    to: { type: 'number' },
                    step: { type: 'integer' },
                    components: { type: 'array', items: { type: 'object' } },
                  },
                },
              },
            },
          },
          400: problem('A parameter is invalid: the problem names it (?names, ?from, ?to, ?step)'),
          409: problem('The metrics could not be read (the account refused)'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/queries': {
      parameters: [planIdParameter],
      get: {
        summary: 'A running database’s top statements of the application role, from pg_stat_statements (normalised: constants are $1, $2…)',
        parameters: [
          componentParameter,
          {
            name: 'order',
            in: 'query',
            description: 'total_time (default), mean_time, calls, rows or shared_blocks_read; descending',
            schema: { type: 'string' },
          },
          { name: 'limit', in: 'query', description: '1 to 100 (default 20)', schema: { type: 'integer' } },
        ],
        responses: {
          200: {
            description: '{ component, queries: [{ queryId, query, calls, totalTimeMs, meanTimeMs, rows, sharedBlocksHit, sharedBlocksRead }] }',
          },
          400: problem('A parameter is invalid: the problem names it (?order, ?limit, ?component)'),
          409: problem('Not running, or running where top queries are not read yet'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/queries/reset': {
      parameters: [planIdParameter],
      post: {
        summary: 'Forget the database’s statement counts: the top queries start again from now',
        parameters: [componentParameter],
        responses: { 200: { description: '{ component, resetAt }' }, 409: problem('Not running'), ...authErrors },
      },
    },
    '/v1/plan/{id}/alerts': {
      parameters: [planIdParameter],
      get: {
        summary: 'The plan’s alert settings, the incidents open now and those that cleared (newest first)',
        responses: {
          200: {
            description:
              '{ settings: { email?, rules }, firing: [alert], cleared: [alert] }; an alert is { alertId, key, rule, state: firing | cleared, component?, node?, message, value?, threshold?, firedAt, clearedAt?, notifiedAt?, notified? }',
          },
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/alerts/settings': {
      parameters: [planIdParameter],
      put: {
        summary: 'Replace the plan’s alert settings: thresholds per rule and the address each new incident is e-mailed to',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: embedded(alertSettingsJsonSchema) } },
        },
        responses: {
          200: { description: '{ settings }' },
          400: problem('A field is invalid: `errors` names each (e.g. /rules/disk/thresholdPercent); nothing is stored'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/recovery-window': {
      parameters: [planIdParameter],
      get: {
        summary: 'The times a point-in-time restore of one database can reach',
        parameters: [componentParameter],
        responses: {
          200: {
            description: '{ component, earliest, latest }: ISO times, null until the first backup is in the repository',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['component', 'earliest', 'latest'],
                  properties: {
                    component: { type: 'string' },
                    earliest: { type: ['string', 'null'], format: 'date-time' },
                    latest: { type: ['string', 'null'], format: 'date-time' },
                  },
                },
              },
            },
          },
          400: unknownComponent,
          409: problem('Not running (deploying, restoring or not deployed)'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/restore': {
      parameters: [planIdParameter],
      post: {
        summary: 'Restore one database in place to a time in its recovery window; it comes back on a new timeline, its replicas rebuilt',
        parameters: [componentParameter],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['targetTime', 'confirm'],
                additionalProperties: false,
                properties: { targetTime: { type: 'string', format: 'date-time' }, confirm: { const: true } },
              },
            },
          },
        },
        responses: {
          202: { description: 'Restoring; returns { status, component, targetTime, deploymentId }; GET /deployment shows the steps' },
          400: problem('`targetTime` is not a time or is outside the recovery window, or not confirmed; `errors` names the field'),
          409: problem('Not running, or a deployment, restore or backup is in progress'),
          429: dailyLimit,
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/components/{componentId}/logs': {
      parameters: [planIdParameter, componentIdParameter],
      get: {
        summary:
          "A component's logs, oldest first: an app's build, release-command and run lines, or a database node's PostgreSQL log entries with every password masked",
        parameters: [
          { name: 'tail', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 2000, default: 200 } },
          {
            name: 'node',
            in: 'query',
            required: false,
            description: 'A database: the node to read (default: the primary)',
            schema: { type: 'string' },
          },
          {
            name: 'q',
            in: 'query',
            required: false,
            description: 'A database: only entries holding this text (case ignored)',
            schema: { type: 'string', maxLength: 200 },
          },
        ],
        responses: {
          200: {
            description:
              'An app: { lines: [{ time, source: build | release | run, text }] }. A database: { component, node, nodes, entries: [{ time, pid, level, user, database, text, durationMs }] } (durationMs: a statement slower than log_min_duration_statement)',
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    {
                      type: 'object',
                      required: ['lines'],
                      properties: {
                        lines: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['time', 'source', 'text'],
                            properties: { time: { type: 'string' }, source: { enum: ['build', 'release', 'run'] }, text: { type: 'string' } },
                          },
                        },
                      },
                    },
                    {
                      type: 'object',
                      required: ['component', 'nodes', 'entries'],
                      properties: {
                        component: { type: 'string' },
                        node: { type: 'string' },
                        nodes: { type: 'array', items: { type: 'string' } },
                        entries: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['time', 'pid', 'level', 'text'],
                            properties: {
                              time: { type: 'string' },
                              pid: { type: 'integer' },
                              level: { enum: ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'LOG', 'FATAL', 'PANIC'] },
                              user: { type: 'string' },
                              database: { type: 'string' },
                              text: { type: 'string' },
                              durationMs: { type: 'number' },
                            },
                          },
                        },
                      },
                    },
                  ],
                },
              },
            },
          },
          400: problem('`tail`, `node` or `q` is not valid; `errors` names the parameter'),
          409: problem('The database runs where its log is not read yet'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/components/{componentId}/rollback': {
      parameters: [planIdParameter, componentIdParameter],
      post: {
        summary: 'Take an app back to the version that served before the current one (an update that builds nothing)',
        responses: {
          202: { description: '{ deploymentId, mode: "update", version }: the commit it goes back to; GET /deployment follows it' },
          400: problem('The component is a database (databases restore from backups), or a body was sent'),
          409: problem('The plan is deploying, or the app has no previous version'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/components/{componentId}/secrets': {
      parameters: [planIdParameter, componentIdParameter],
      put: {
        summary: "Set values of an app's declared secrets; they are never returned, and the next deploy passes them",
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['values'],
                additionalProperties: false,
                properties: { values: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1, maxLength: 4096 } } },
              },
            },
          },
        },
        responses: {
          200: { description: '{ names }: the secrets whose values were set' },
          ...bodyErrors,
          400: problem('A name the app does not declare, an empty or too long value, or not an app; `errors` names each field'),
          409: problem("The values could not be stored (on AWS: the plan's account is not connected or refuses)"),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/switchover': {
      parameters: [planIdParameter],
      post: {
        summary:
          "Hand a cluster's leadership to a replica (a planned switchover, a few seconds); clients on the cluster's connection string reach the new leader",
        parameters: [componentParameter],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: { candidate: { type: 'string', description: 'A replica node name, e.g. db-1' } },
              },
            },
          },
        },
        responses: {
          202: { description: 'Switched; returns { status, component, from, to }; GET /deployment shows the new roles' },
          400: problem('`candidate` is not a node of the cluster, or the body has other fields; `errors` names the field'),
          409: problem('Not running, a single server, or no healthy replica in step with the leader (or the candidate is not one)'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/stop': {
      parameters: [planIdParameter],
      post: {
        summary:
          "Stop the plan's databases and keep their data: on a cloud their machines stop and cost only their disks. Backups, alerts and health checks skip a stopped plan; its apps keep serving",
        responses: {
          202: { description: 'Stopping; returns { status, deploymentId }; the plan turns `stopping`, then `stopped`' },
          409: problem('Deploying or being deleted, already stopped, or nothing deployed to stop'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/start': {
      parameters: [planIdParameter],
      post: {
        summary: "Start a stopped plan's databases again as they were deployed (edits saved since wait for a deploy, which starts them too)",
        responses: {
          202: { description: 'Starting; returns { status, deploymentId }; the plan turns `starting`, then `running`' },
          409: problem('The plan is not stopped'),
          ...authErrors,
        },
      },
    },
    '/v1/plan/{id}/roles/{role}/password': {
      parameters: [
        planIdParameter,
        { name: 'role', in: 'path', required: true, schema: { type: 'string' }, description: 'A role of the deployed plan (db.roles)' },
      ],
      post: {
        summary:
          "A new password for one of the plan's roles, shown once (CloudSeed keeps only PostgreSQL's SCRAM verifier); the old one stops working",
        parameters: [componentParameter],
        responses: {
          200: { description: '{ component, role, access, password, databases, uri }' },
          409: problem('The plan is not running'),
          ...authErrors,
          404: problem('No such plan, or the deployed plan has no such role (add it to the plan and deploy)'),
        },
      },
    },
    '/v1/plan/{id}/backups/{backupId}/download': {
      parameters: [planIdParameter, backupIdParameter],
      get: {
        summary: "A 15-minute link to a logical export's pg_dump archive",
        responses: {
          200: { description: '{ url, expiresAt }' },
          409: problem('The backup did not complete, or is a physical (pgBackRest) backup, which is restored rather than downloaded'),
          ...authErrors,
        },
      },
    },
    '/v1/accounts': {
      get: {
        summary: 'Your connected AWS accounts, and what the CloudSeed role template needs (your ExternalId, the platform account)',
        responses: {
          200: {
            description: 'Accounts; the local cloud lists its built-in account `local` first',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/AccountList' } } },
          },
          401: authErrors[401],
        },
      },
      post: {
        summary:
          'Connect an AWS account (CloudSeed assumes the role with your ExternalId), a Google Cloud project (it impersonates the deployer through your Workload Identity pool) or an Azure resource group (it signs in as its app in your tenant); each is verified, with the permissions deploys need, before it is stored',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/AccountInput' } } } },
        responses: {
          201: { description: 'The connected account', content: { 'application/json': { schema: { $ref: '#/components/schemas/Account' } } } },
          ...bodyErrors,
          400: problem(
            'Invalid body, or CloudSeed cannot reach the account with its connection (`errors` names the field: /roleArn, /region, /projectNumber, /projectId, /tenantId, /subscriptionId or /resourceGroup, and what is missing)',
          ),
          401: authErrors[401],
          409: problem(
            `The role, project or resource group is connected already, you have ${MAX_ACCOUNTS} accounts, or this cloud cannot reach the one asked for (the local cloud)`,
          ),
        },
      },
    },
    '/v1/client-address': {
      get: {
        summary: 'The address your requests come from, as a CIDR a plan can allow',
        responses: {
          200: {
            description: 'Your address',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['address', 'cidr'], properties: { address: { type: 'string' }, cidr: { type: 'string' } } },
              },
            },
          },
          401: authErrors[401],
        },
      },
    },
    '/v1/accounts/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      delete: {
        summary: 'Remove a connected account',
        responses: {
          204: { description: 'Removed' },
          401: authErrors[401],
          404: problem('No such account for this customer'),
          409: problem('Deployed plans run in the account, or it is the built-in local account'),
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
    securitySchemes: {
      cognito: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Cognito access token of the CloudSeed app client' },
    },
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
      Deployment: {
        type: 'object',
        required: ['status', 'steps'],
        properties: {
          status: { enum: [...planStatuses] },
          reason: { type: 'string' },
          steps: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'status', 'startedAt'],
              properties: {
                name: { type: 'string' },
                status: { enum: ['running', 'succeeded', 'failed'] },
                startedAt: { type: 'string' },
                endedAt: { type: 'string' },
                error: { type: 'string' },
              },
            },
          },
          endpoint: {
            type: 'object',
            properties: {
              host: { type: 'string' },
              port: { type: 'integer' },
              database: { type: 'string' },
              username: { type: 'string' },
              members: {
                type: 'array',
                description: 'Clusters: every member, the leader first',
                items: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer' } } },
              },
              loadBalancer: {
                type: 'object',
                description: 'AWS clusters with automatic failover: the internal load balancer that forwards to the leader',
                properties: { host: { type: 'string' }, port: { type: 'integer' } },
              },
              databases: {
                type: 'array',
                items: { type: 'string' },
                description: "Every database of the plan, the application's first (when it has others)",
              },
              roles: {
                type: 'array',
                description: "The plan's login roles beside the application's; POST …/roles/{role}/password gives one a password",
                items: { type: 'object', properties: { name: { type: 'string' }, access: { enum: ['readonly', 'readwrite'] } } },
              },
            },
          },
          nodes: { type: 'array', items: { type: 'object' } },
          components: {
            type: 'array',
            description: "Every component's own status; apps with their address and the versions (commits) they serve",
            items: {
              type: 'object',
              required: ['id', 'type', 'status'],
              properties: {
                id: { type: 'string' },
                type: { enum: ['postgres', 'app'] },
                status: { enum: ['not_deployed', 'deploying', 'running', 'failed', 'deleting', 'stopped'] },
                reason: { type: 'string' },
                url: { type: 'string', description: "Apps: the app's stable address" },
                servingVersion: { type: 'string', description: 'Apps: the commit that serves' },
                previousVersion: { type: 'string', description: 'Apps: the commit a rollback goes back to' },
                requestedVersion: { type: 'string', description: 'Apps: the commit the plan pins, when it pins one' },
                branch: { type: 'string' },
                database: { type: 'string', description: 'Apps: the postgres component it uses' },
                secrets: {
                  type: 'array',
                  items: { type: 'string' },
                  description: 'Apps: the names of its secrets (PUT …/secrets sets their values)',
                },
              },
            },
          },
          backup: {
            type: 'object',
            properties: { schedule: { type: 'string' }, timezone: { type: 'string' }, nextRunAt: { type: 'string' }, lastBackup: { type: 'object' } },
          },
          executionArn: { type: 'string' },
        },
      },
      AccountInput: embedded(connectAccountJsonSchema),
      Account: {
        type: 'object',
        required: ['id', 'name', 'kind'],
        properties: {
          id: { type: 'string', description: "A uuid, or `local` for the local cloud's built-in account" },
          name: { type: 'string' },
          kind: { enum: ['aws', 'gcp', 'azure', 'local'] },
          awsAccountId: { type: 'string', pattern: '^\\d{12}$' },
          roleArn: { type: 'string' },
          projectId: { type: 'string', description: 'Google Cloud' },
          projectNumber: { type: 'string', description: 'Google Cloud' },
          tenantId: { type: 'string', format: 'uuid', description: 'Azure' },
          subscriptionId: { type: 'string', format: 'uuid', description: 'Azure' },
          resourceGroup: { type: 'string', description: 'Azure: the group plans deploy into' },
          region: { type: 'string', description: 'What new plans on the account default to' },
          createdAt: { type: 'string', format: 'date-time' },
          verifiedAt: { type: 'string', format: 'date-time' },
        },
      },
      AccountList: {
        type: 'object',
        required: ['items', 'externalId'],
        properties: {
          items: { type: 'array', items: { $ref: '#/components/schemas/Account' } },
          externalId: { type: 'string', description: 'Yours, for good: the ExternalId parameter of the CloudSeed role template' },
          platformAccountId: { type: 'string', description: 'The PlatformAccountId parameter of the template (on AWS)' },
          templateUrl: { type: 'string', format: 'uri', description: 'Where to launch the template from, when the platform publishes it' },
          launchStackUrl: {
            type: 'string',
            format: 'uri',
            description:
              "The CloudFormation console's quick-create link for the template (in us-east-1; change `region=` for another), with PlatformAccountId and your ExternalId filled in",
          },
          federation: {
            type: 'object',
            required: ['awsAccountId', 'roleName'],
            description:
              'Who CloudSeed is to Google Cloud and Azure (on AWS only): the role a Workload Identity pool must admit, and the Entra app to consent to',
            properties: {
              awsAccountId: { type: 'string', pattern: '^\\d{12}$' },
              roleName: { type: 'string' },
              azureAppId: { type: 'string', format: 'uuid' },
            },
          },
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
