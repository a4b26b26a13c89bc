import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ContentDeployment } from './content-deployment.ts';
import type { ConfigurableFunction } from './function.ts';
import { acknowledge } from './nag.ts';

// Where customers launch the CloudSeed template from. CloudFormation reads a template only from an
// S3 https URL (not CloudFront, not a website endpoint), with the credentials of whoever launches
// the stack, and the customers' accounts are not known here: so the template is one object that
// anyone may read, in a bucket of its own, and nothing else in that bucket is public. The object
// is the synthesized CloudSeedCustomerAccount stack, written again on every platform deploy; it
// holds no secret (the launch link fills in the customer's parameters).

export const CUSTOMER_TEMPLATE_KEY = 'cloudseed-account.json';

export interface CustomerTemplateProps {
  /** The template's JSON, as CloudFormation reads it. */
  readonly template: string;
  readonly accessLogs: s3.IBucket;
  readonly retain: boolean;
}

export class CustomerTemplate extends Construct {
  readonly bucket: s3.Bucket;
  readonly deployment: s3deploy.BucketDeployment;
  /** `https://<bucket>.s3.<region>.amazonaws.com/cloudseed-account.json`: what the console's templateURL takes. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: CustomerTemplateProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      // ACLs stay blocked (and disabled below); the bucket policy may grant the one public read.
      blockPublicAccess: new s3.BlockPublicAccess({
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: false,
        restrictPublicBuckets: false,
      }),
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'templates-bucket/',
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // Stacks customers launched keep their own copy of the template; the published one is rebuilt on every deploy.
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AnyoneMayReadTheCustomerTemplate',
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(CUSTOMER_TEMPLATE_KEY)],
      }),
    );
    acknowledge(
      this.bucket,
      'AwsSolutions-S2',
      `Public reads are what CloudFormation needs to launch the template from customers' accounts; the policy allows s3:GetObject on ${CUSTOMER_TEMPLATE_KEY} alone, and ACLs stay blocked.`,
    );

    this.deployment = new ContentDeployment(this, 'Content', {
      bucket: this.bucket,
      sources: [s3deploy.Source.data(CUSTOMER_TEMPLATE_KEY, props.template)],
      what: 'the customer template',
      memoryLimit: 256,
      contentType: 'application/json',
      // Deleting the platform takes the object along, so the bucket can go too (in dev).
      retainOnDelete: props.retain,
    }).deployment;
    this.url = `https://${this.bucket.bucketRegionalDomainName}/${CUSTOMER_TEMPLATE_KEY}`;
  }

  /** Lets a function show customers where to launch the template from. */
  publishTo(fn: ConfigurableFunction): void {
    fn.addEnvironment('CUSTOMER_TEMPLATE_URL', this.url);
  }
}
