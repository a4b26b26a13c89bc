/**
 * The caller's own address, set by the CloudFront function in front of /v1/* on every request
 * (replacing whatever the caller sent): behind CloudFront, API Gateway only sees an edge server.
 */
export const VIEWER_ADDRESS_HEADER = 'x-cloudseed-viewer-address';

/**
 * CloudFront adds this header to every request it sends to the API, with the value of the
 * platform's origin secret (infra/lib/origin-secret.ts); the API refuses requests without it, so
 * nobody reaches the API around the distribution and its web ACL (origin-verify.ts).
 */
export const ORIGIN_VERIFY_HEADER = 'x-cloudseed-origin-verify';

/** Names the origin secret (its ARN) to the API's functions, which read its value at cold start. */
export const ORIGIN_SECRET_ENV = 'ORIGIN_VERIFY_SECRET_ARN';
