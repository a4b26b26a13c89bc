import { authedRoute } from '../lib/authed-route.ts';
import { mode } from '../lib/env.ts';
import { VIEWER_ADDRESS_HEADER } from '../lib/headers.ts';
import { json } from '../lib/http.ts';

// The address the caller's requests come from, as a CIDR the editor can allow ("Add my IP").
// On AWS the CloudFront function's header; locally (no CloudFront) the connection's own address.
const behindCloudFront = mode() === 'aws';

export const handler = authedRoute((request) => {
  const address = (behindCloudFront ? request.headers[VIEWER_ADDRESS_HEADER] : undefined) ?? request.event.requestContext.http.sourceIp;
  const bare = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return Promise.resolve(json(200, { address: bare, cidr: bare.includes(':') ? `${bare}/128` : `${bare}/32` }));
});
