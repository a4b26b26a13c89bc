import { renderGcpComponent } from '@cloudseed/shared/targets/gcp/index';
import { OAuth2Client } from 'google-auth-library';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcpClients } from '../providers/gcp/index.ts';
import { GcpProvider } from '../providers/gcp/index.ts';
import { gcpTarget, PLAN_ID, PROJECT, REGION, ZONE } from './support/gcp-project.ts';

// One request of the GCP provider as it leaves the machine: the Compute Engine client library over
// REST, with nothing stubbed but the network (nock). The JSON sent must be the REST API's own shape,
// which is where a protobuf mapping would go wrong: int64 fields such as diskSizeGb travel as strings.

beforeAll(() => {
  nock.disableNetConnect();
});

afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
  nock.restore();
});

/** An OAuth2 client whose token is already there, so nothing asks Google for one. */
function staticAuth(): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: 'ya29.test-token', expiry_date: Date.now() + 3_600_000 });
  return auth;
}

function withoutEmptyObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyObjects);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).filter(
    ([, field]) => !(typeof field === 'object' && field !== null && !Array.isArray(field) && Object.keys(field as object).length === 0),
  );
  return Object.fromEntries(entries.map(([key, field]) => [key, withoutEmptyObjects(field)]));
}

describe('the GCP provider on the wire', () => {
  it('inserts an instance with the JSON the REST API takes, diskSizeGb as a string, and its request id in the query', async () => {
    const target = gcpTarget();
    const document = renderGcpComponent(target.component, { planId: PLAN_ID, planName: 'orders', project: PROJECT, region: REGION, zone: ZONE });
    const insert = document.instances[0]!;
    const instanceName = String(insert.instanceResource['name']);
    let sent: unknown;
    const compute = nock('https://compute.googleapis.com')
      .get(`/compute/v1/projects/${PROJECT}/global/networks`)
      .query(true)
      .reply(200, { items: [] });

    const provider = new GcpProvider({ authFor: () => staticAuth(), clientsFor: gcpClients });
    await provider.preflight(target);
    compute
      .post(`/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances`, (body: unknown) => {
        sent = body;
        return true;
      })
      .query({ requestId: insert.requestId })
      .matchHeader('authorization', 'Bearer ya29.test-token')
      .reply(200, { name: 'operation-1', status: 'DONE', zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}` });

    const clients = gcpClients(staticAuth(), PROJECT);
    await clients.instances.insert({
      project: PROJECT,
      zone: ZONE,
      requestId: insert.requestId,
      instanceResource: structuredClone(insert.instanceResource),
    });

    expect(compute.isDone()).toBe(true);
    // The REST mapping adds the map fields the document leaves out, empty (initializeParams.resourceManagerTags): nothing else differs.
    expect(withoutEmptyObjects(sent)).toEqual(JSON.parse(JSON.stringify(insert.instanceResource)));
    const disks = (sent as { disks: { initializeParams: { diskSizeGb: unknown } }[] }).disks;
    expect(disks.map((disk) => disk.initializeParams.diskSizeGb)).toEqual(['20', '50']);
    expect((sent as { name: string }).name).toBe(instanceName);
    expect(sent).not.toHaveProperty(['networkInterfaces', 0, 'accessConfigs']);
  });
});
