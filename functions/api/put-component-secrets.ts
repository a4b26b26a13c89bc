import { appComponents } from '@cloudseed/shared/cs-json/components';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import type { FieldProblem } from '@cloudseed/shared/errors';
import { accounts } from '../lib/accounts.ts';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { ProviderError } from '../providers/errors.ts';
import { appProviderFor } from '../providers/index.ts';

const MAX_VALUE_LENGTH = 4096;

/**
 * Sets values of an app's secrets: `{ "values": { "API_KEY": "…" } }`, each a name the saved plan's
 * app declares in `secrets`. They are stored where only the app reads them and never returned; the
 * next deploy passes them. 200 with the names set.
 */
export const handler = authedRoute(
  async ({ user, params, body }) => {
    const plan = await plans.get(user.sub, params.id ?? '');
    const componentId = params.componentId ?? '';
    const component = plan.spec.components.find((candidate) => candidate.id === componentId);
    if (!component) throw new NotFound(`The plan has no component ${componentId}.`);
    if (component.type !== 'app') {
      throw badRequest(`${componentId} is a ${component.type} component; secrets belong to apps.`, [
        {
          path: 'componentId',
          message: `must name an app of the plan (${
            appComponents(plan.spec)
              .map((app) => app.id)
              .join(', ') || 'it has none'
          })`,
        },
      ]);
    }
    const values = parseValues(body, component.secrets);
    const account = await accounts.connectionFor(user.sub, plan.spec.target);
    const apps = await appProviderFor(plan.spec.target);
    try {
      await apps.putSecrets(
        {
          ownerId: user.sub,
          planId: plan.id,
          planName: plan.spec.name,
          deploymentId: `secrets-${plan.version}`,
          target: plan.spec.target,
          component,
          ...(account ? { account } : {}),
        },
        values,
      );
    } catch (error) {
      if (error instanceof ProviderError) throw new Conflict(`The secrets could not be stored: ${error.message}`);
      throw error;
    }
    return json(200, { names: Object.keys(values).sort() });
  },
  { body: true },
);

function parseValues(body: unknown, declared: readonly string[]): Record<string, string> {
  const problems: FieldProblem[] = [];
  const values = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).values : undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((key) => key !== 'values')) {
    problems.push({ path: '/', message: 'must be { "values": { "<NAME>": "<value>" } }' });
  } else if (typeof values !== 'object' || values === null || Array.isArray(values) || Object.keys(values).length === 0) {
    problems.push({ path: '/values', message: 'must name at least one secret and its value' });
  } else {
    for (const [name, value] of Object.entries(values)) {
      if (!declared.includes(name)) {
        problems.push({
          path: `/values/${name}`,
          message: `is not a secret the app declares (${declared.join(', ') || 'it declares none'}); add it to secrets first`,
        });
      } else if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
        problems.push({ path: `/values/${name}`, message: `must be a string of 1 to ${MAX_VALUE_LENGTH} characters` });
      }
    }
  }
  if (problems.length > 0) throw badRequest('The secrets are not valid; see errors. Nothing was stored.', problems);
  return values as Record<string, string>;
}
