/**
 * The caller's own address, set by the CloudFront function in front of /v1/* on every request
 * (replacing whatever the caller sent): behind CloudFront, API Gateway only sees an edge server.
 */
export const VIEWER_ADDRESS_HEADER = 'x-cloudseed-viewer-address';
