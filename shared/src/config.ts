/**
 * `GET /config.json`: what the web app needs to find the API and sign users in. CloudFront
 * serves it from the site bucket on AWS; the local cloud answers it itself.
 */
export interface PublicConfig {
  readonly mode: 'local' | 'aws';
  readonly region: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly cognitoEndpoint: string;
  readonly apiBase: string;
  /** Local cloud only: the PostgreSQL majors installed on this machine, newest first. */
  readonly postgresVersions?: readonly string[];
}
