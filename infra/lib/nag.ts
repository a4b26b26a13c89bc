import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag finding on a construct and everything under it. cdk-nag 3 uses CDK's
 * own acknowledgements; a finding with a detail (`AwsSolutions-IAM5[Resource::*]`) must be named
 * with it, so each wildcard is accepted on its own and a new one still fails the synth.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export const XRAY_REASON =
  'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions, so AWS requires Resource "*".';
