import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from './client.ts';

// What the client sends for point-in-time recovery and backups of a kind, and how it reads a refusal.

const PLAN_ID = '7532f938-6ed1-4f92-93c5-97d62b09162c';

function clientAnswering(status: number, body: unknown, contentType = 'application/json') {
  const fetcher = vi.fn<typeof fetch>(() =>
    Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } })),
  );
  return { client: new ApiClient(() => Promise.resolve('token-1'), fetcher), fetcher };
}

function sent(fetcher: ReturnType<typeof clientAnswering>['fetcher']) {
  const [path, init] = fetcher.mock.calls[0] ?? [];
  return { path, method: init?.method, body: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : init?.body };
}

describe('the API client', () => {
  it('asks for the recovery window', async () => {
    const answer = { component: 'db', earliest: '2026-11-24T09:49:05.512Z', latest: '2026-11-24T09:49:45.000Z' };
    const { client, fetcher } = clientAnswering(200, answer);

    expect(await client.recoveryWindow(PLAN_ID)).toEqual(answer);
    expect(sent(fetcher)).toEqual({ path: `/v1/plan/${PLAN_ID}/recovery-window`, method: 'GET', body: undefined });
  });

  it('starts a point-in-time restore with the time and the confirmation', async () => {
    const { client, fetcher } = clientAnswering(202, { status: 'restoring', component: 'db', targetTime: '2026-11-24T09:49:30.000Z' });

    expect(await client.restoreToPoint(PLAN_ID, '2026-11-24T09:49:30.000Z')).toEqual({
      status: 'restoring',
      component: 'db',
      targetTime: '2026-11-24T09:49:30.000Z',
    });
    expect(sent(fetcher)).toEqual({
      path: `/v1/plan/${PLAN_ID}/restore`,
      method: 'POST',
      body: { targetTime: '2026-11-24T09:49:30.000Z', confirm: true },
    });
  });

  it('reads a refused restore’s field problems', async () => {
    const problem = {
      status: 400,
      title: 'Bad Request',
      detail: 'The request has invalid fields',
      errors: [{ path: '/targetTime', message: 'must be inside the recovery window' }],
    };
    const { client } = clientAnswering(400, problem, 'application/problem+json');

    const error = await client.restoreToPoint(PLAN_ID, '2026-11-24T08:00:00.000Z').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, errors: [{ path: '/targetTime', message: 'must be inside the recovery window' }] });
  });

  it('asks for a backup of a kind', async () => {
    const { client, fetcher } = clientAnswering(202, { backupId: '20261124T100000Z-00000001' });

    await client.runBackup(PLAN_ID, { kind: 'logical' });

    expect(sent(fetcher)).toEqual({ path: `/v1/plan/${PLAN_ID}/backups`, method: 'POST', body: { kind: 'logical' } });
  });

  it('asks for the newest 200 lines of an app’s log', async () => {
    const answer = { lines: [{ time: '2026-11-24T09:49:05.000Z', source: 'run', text: 'listening on :8080' }] };
    const { client, fetcher } = clientAnswering(200, answer);

    expect(await client.componentLogs(PLAN_ID, 'web')).toEqual(answer);
    expect(sent(fetcher)).toEqual({ path: `/v1/plan/${PLAN_ID}/components/web/logs?tail=200`, method: 'GET', body: undefined });
  });

  it('rolls an app back, and reads a refusal’s detail', async () => {
    const started = clientAnswering(202, { deploymentId: 'd-1', mode: 'update' });
    expect(await started.client.rollback(PLAN_ID, 'web')).toEqual({ deploymentId: 'd-1', mode: 'update' });
    expect(sent(started.fetcher)).toEqual({ path: `/v1/plan/${PLAN_ID}/components/web/rollback`, method: 'POST', body: undefined });

    const refused = clientAnswering(
      409,
      { status: 409, title: 'Conflict', detail: 'web has no earlier version to go back to.' },
      'application/problem+json',
    );
    const error = await refused.client.rollback(PLAN_ID, 'web').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 409, detail: 'web has no earlier version to go back to.' });
  });
});
