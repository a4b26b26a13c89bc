import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceError, startJsonService } from '../local/json-service.ts';
import type { JsonRequest, JsonService } from '../local/json-service.ts';

// The server every AWS stand-in of the local cloud runs on: what reaches a service, and how each
// kind of failure is answered.

describe('the local JSON service', () => {
  let service: JsonService;
  const seen: JsonRequest[] = [];

  beforeAll(async () => {
    service = await startJsonService({ name: 'a test service', maxBodyBytes: 64 }, (request) => {
      seen.push(request);
      const body = request.body as { fail?: string };
      if (body.fail === 'typed') throw new ServiceError('ConflictException', 'already there', 409);
      if (body.fail === 'crash') throw new Error('secret detail from inside');
      return Promise.resolve({ status: 201, body: { echoed: request.body, path: request.url.pathname }, headers: { 'x-extra': 'yes' } });
    });
  });
  afterAll(() => service.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${service.endpoint}/things/1?x=2`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  it('hands the service the parsed body and path, and sends its reply as JSON', async () => {
    const response = await post('{"a":1}');
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-extra')).toBe('yes');
    expect(await response.json()).toEqual({ echoed: { a: 1 }, path: '/things/1' });
    expect(seen.at(-1)?.url.searchParams.get('x')).toBe('2');
  });

  it('gives the service an empty object when there is no body', async () => {
    const response = await post('');
    expect(await response.json()).toEqual({ echoed: {}, path: '/things/1' });
  });

  it('answers a body that is not JSON with 400 and never calls the service', async () => {
    const before = seen.length;
    const response = await post('{not json');
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
    expect(seen).toHaveLength(before);
  });

  it('answers a body over the limit with 413 and never calls the service', async () => {
    const before = seen.length;
    const response = await post(JSON.stringify({ padding: 'x'.repeat(100) }));
    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('RequestTooLargeException');
    expect(seen).toHaveLength(before);
  });

  it('answers a ServiceError with its status and type', async () => {
    const response = await post('{"fail":"typed"}');
    expect(response.status).toBe(409);
    expect(response.headers.get('x-amzn-errortype')).toBe('ConflictException');
    expect(await response.json()).toEqual({ __type: 'ConflictException', message: 'already there' });
  });

  it('answers anything else with a 500 that echoes nothing', async () => {
    const response = await post('{"fail":"crash"}');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret detail');
    expect(JSON.parse(text)).toEqual({ __type: 'InternalFailure', message: 'internal error' });
  });

  it('refuses requests from web pages before reading them', async () => {
    const before = seen.length;
    const response = await post('{"a":1}', { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(seen).toHaveLength(before);
  });
});
