import type { Plan } from '../cs-json/schema.ts';
import { renderAwsJson } from './aws/aws-json.ts';
import { renderAzureJson } from './azure/azure-json.ts';
import { renderGcpJson } from './gcp/gcp-json.ts';
import { renderLocalJson } from './local/local-json.ts';
import type { RenderContext } from './version.ts';

/** The plan's deployment document on the cloud it targets: local-json, aws-json, gcp-json or azure-json. */
export function renderDeploymentDocument(plan: Plan, context: RenderContext) {
  switch (plan.target.cloud) {
    case 'local':
      return renderLocalJson(plan, context);
    case 'aws':
      return renderAwsJson(plan, context);
    case 'gcp':
      return renderGcpJson(plan, context);
    case 'azure':
      return renderAzureJson(plan, context);
  }
}
