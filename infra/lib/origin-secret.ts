import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_SECRET_ENV, ORIGIN_VERIFY_HEADER } from '@cloudseed/functions/lib/headers';
import type { ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';

// The shared secret between CloudFront and the API (functions/lib/origin-verify.ts): CloudFormation
// generates it, CloudFront sends it in ORIGIN_VERIFY_HEADER on every request to the API origin, and
// the API's functions read it through the Secrets Manager API at cold start. Whoever calls the API
// around the distribution (and around its web ACL) does not know it and gets a 403.

export class OriginSecret extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `CloudSeed: the value CloudFront sends the API in ${ORIGIN_VERIFY_HEADER}, which the API requires`,
      // Letters and digits only: the value travels as an HTTP header.
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // Not user data: a new stack makes a new one. (Secrets Manager still keeps a deleted secret for its recovery window.)
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'CloudFront takes the value when the stack deploys (a dynamic reference in the origin custom headers) and the API functions at cold start; a rotation by Secrets Manager alone would refuse every request until the next deploy. Rotate by redeploying after replacing the secret.',
    );
  }

  /** Lets a function check the header: the secret's ARN in its environment and the read grant, together. */
  grantVerifyTo(fn: ConfigurableFunction): void {
    fn.addEnvironment(ORIGIN_SECRET_ENV, this.secret.secretArn);
    this.secret.grantRead(fn);
  }

  /**
   * CloudFront's origin custom headers for the API. The value is a dynamic reference that
   * CloudFormation resolves while deploying: the secret is in neither the template nor the assembly.
   */
  get originHeaders(): Record<string, string> {
    return { [ORIGIN_VERIFY_HEADER]: this.secret.secretValue.unsafeUnwrap() };
  }
}
