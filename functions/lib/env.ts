// The environment every function reads once, at module load. A missing variable stops the cold
// start with its name, rather than failing later inside a request.
//
//   CLOUDSEED_MODE        aws | local
//   AWS_REGION            set by Lambda; set by the local cloud
//   USER_POOL_ID          Cognito user pool
//   USER_POOL_CLIENT_ID   the SPA's app client; only its access tokens are accepted
//   COGNITO_ISSUER        local only: the issuer cognito-local signs with (http://host:port/<pool>)
//   DYNAMODB_ENDPOINT     local only: dynalite's URL
//   <TABLE>_TABLE         physical table names (see tables.ts)
//   PLATFORM_ACCOUNT_ID   optional, aws only: the account customers' roles trust (GET /v1/accounts shows it)
//   CUSTOMER_TEMPLATE_URL optional: the S3 URL the platform publishes the customer template at; with
//                         PLATFORM_ACCOUNT_ID, the accounts API builds the console's launch link from it
//   ORIGIN_VERIFY_SECRET_ARN  aws only, API functions: the secret CloudFront sends in x-cloudseed-origin-verify;
//                         the API refuses requests without it (origin-verify.ts). Unset in the local cloud.
//   BACKUP_BUCKET         local only: s3rver's bucket (on AWS each customer account has its own)
//   CLOUDSEED_MAX_PLANS, CLOUDSEED_MAX_RUNNING_NODES, CLOUDSEED_MAX_BACKUPS_PER_DAY
//                         optional: the per-user limits (quotas.ts has the defaults)
//   ALERTS_FROM_ADDRESS   optional, aws only, the alerts job: the SES-verified sender of alert e-mails
//                         (unset: incidents are listed, not e-mailed)
//   WEB_ORIGIN            optional, the alerts job: the web app's origin, for the link in an alert e-mail

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

/** An optional setting: undefined when unset or empty. */
export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** An optional whole number ≥ 1; `fallback` when unset, and a cold-start failure when it is anything else. */
export function positiveIntegerEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^[1-9]\d{0,8}$/.test(value))
    throw new Error(`environment variable ${name} must be a whole number of at least 1, not ${JSON.stringify(value)}`);
  return Number(value);
}

export type Mode = 'aws' | 'local';

export function mode(): Mode {
  const value = requireEnv('CLOUDSEED_MODE');
  if (value !== 'aws' && value !== 'local') throw new Error('CLOUDSEED_MODE must be aws or local');
  return value;
}
