import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { settled } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Alerts against the real local cloud: its collector samples the server every second and the
// rules are evaluated every second. A condition that holds opens one incident and sends one message
// (the local outbox) however many evaluations see it; when it stops holding the incident clears; a
// new one is a new message. Settings are checked field by field and stored only when valid;
// another customer's plan is not found.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud({ env: { CLOUDSEED_METRICS_INTERVAL_MS: '1000', CLOUDSEED_ALERTS_INTERVAL_MS: '1000' } });

interface Alert {
  alertId: string;
  key: string;
  rule: string;
  state: string;
  node?: string;
  message: string;
  firedAt: string;
  clearedAt?: string;
  notified?: string;
}
interface Settings {
  email?: string;
  rules: Record<string, { enabled: boolean; thresholdPercent?: number; thresholdSeconds?: number }>;
}
interface PlanAlerts {
  settings: Settings;
  firing: Alert[];
  cleared: Alert[];
}
interface Problem {
  errors?: { path: string; message: string }[];
}

const sessions: ChildProcess[] = [];
afterAll(() => {
  for (const session of sessions) session.kill();
});

const planAlerts = async (planId: string): Promise<PlanAlerts> => {
  const response = await cloud.api.call('GET', `/v1/plan/${planId}/alerts`);
  expect(response.status).toBe(200);
  return response.json as PlanAlerts;
};
const putSettings = (planId: string, settings: unknown, token?: string) =>
  cloud.api.call('PUT', `/v1/plan/${planId}/alerts/settings`, { body: settings, ...(token ? { token } : {}) });
const outbox = (): { to: string; subject: string }[] => {
  try {
    return readFileSync(join(cloud.home, 'outbox', 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { to: string; subject: string });
  } catch {
    return [];
  }
};

describe('alerts', () => {
  it('fire once while a condition holds, clear when it stops, and fire again as a new incident', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'watched', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', maxConnections: 20 } }),
    );
    const initial = await planAlerts(planId);
    expect(initial.firing).toEqual([]);
    expect(initial.settings.rules.disk).toEqual({ enabled: true, thresholdPercent: 80 });

    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const { settings } = initial;
    // Connections: an alert from 15 % of 20, i.e. 3 sessions; 4 run.
    const watching: Settings = {
      email: 'ops@example.com',
      rules: { ...settings.rules, connections: { enabled: true, thresholdPercent: 15 } },
    };
    expect((await putSettings(planId, watching)).status).toBe(200);
    const creds = await cloud.api.credentials(planId);
    for (let index = 0; index < 4; index += 1) {
      sessions.push(
        // Idle sessions: psql waits on its standard input; killed, the server sees the session end.
        spawn('psql', ['-X', `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`], {
          env: { ...process.env, PGPASSWORD: creds.password },
          stdio: ['pipe', 'ignore', 'ignore'],
        }),
      );
    }
    let firing: Alert | undefined;
    await vi.waitFor(
      async () => {
        firing = (await planAlerts(planId)).firing.find((alert) => alert.rule === 'connections');
        expect(firing).toBeDefined();
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(firing).toMatchObject({ key: 'connections:db:db-0', state: 'firing', node: 'db-0' });
    expect(firing!.message).toMatch(/^db-0: [3-9] of 20 connections in use/);
    // Several evaluations later: still one incident, and one message.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await planAlerts(planId);
    expect(later.firing.filter((alert) => alert.rule === 'connections').map((alert) => alert.alertId)).toEqual([firing!.alertId]);
    const sent = outbox().filter((message) => message.subject.includes('connections in use'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 'ops@example.com', subject: expect.stringContaining('[CloudSeed] watched: db-0:') as string });
    expect(later.firing.find((alert) => alert.rule === 'connections')?.notified).toBe('ops@example.com (local outbox)');

    // The sessions end: the incident clears, and no message is sent for that.
    for (const session of sessions.splice(0)) session.kill();
    await vi.waitFor(
      async () => {
        const now = await planAlerts(planId);
        expect(now.firing.filter((alert) => alert.rule === 'connections')).toEqual([]);
        expect(now.cleared[0]).toMatchObject({ alertId: firing!.alertId, state: 'cleared' });
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(outbox().filter((message) => message.subject.includes('connections in use'))).toHaveLength(1);

    // A threshold every disk passes: a new incident, a second message; turned off, it clears.
    const disk: Settings = { ...watching, rules: { ...watching.rules, disk: { enabled: true, thresholdPercent: 1 } } };
    expect((await putSettings(planId, disk)).status).toBe(200);
    await vi.waitFor(async () => expect((await planAlerts(planId)).firing.map((alert) => alert.rule)).toContain('disk'), {
      timeout: 30_000,
      interval: 500,
    });
    expect(outbox()).toHaveLength(2);
    expect((await putSettings(planId, { ...disk, rules: { ...disk.rules, disk: { enabled: false, thresholdPercent: 1 } } })).status).toBe(200);
    await vi.waitFor(async () => expect((await planAlerts(planId)).firing).toEqual([]), { timeout: 30_000, interval: 500 });
    expect((await planAlerts(planId)).cleared.map((alert) => alert.rule)).toEqual(['disk', 'connections']);
  });

  it('checks settings field by field, keeps the stored ones on a 400, and hides another customer’s plan', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'configured', hardware: { cpus: 2, memoryGiB: 1 } }));
    const { settings } = await planAlerts(planId);
    const mine = { email: 'me@example.com', rules: { ...settings.rules, disk: { enabled: true, thresholdPercent: 70 } } };
    expect((await putSettings(planId, mine)).status).toBe(200);

    const bad = await putSettings(planId, { email: 'nope', rules: { ...mine.rules, disk: { enabled: true, thresholdPercent: 0 } } });
    expect(bad.status).toBe(400);
    expect((bad.json as Problem).errors?.map((error) => error.path).sort()).toEqual(['/email', '/rules/disk/thresholdPercent']);
    expect((await planAlerts(planId)).settings).toEqual(mine);

    const other = cloud.other.user.accessToken;
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/alerts`, { token: other })).status).toBe(404);
    expect((await putSettings(planId, mine, other)).status).toBe(404);
    expect((await cloud.api.call('PUT', `/v1/plan/${planId}/alerts/settings`, { token: 'not-a-token', body: mine })).status).toBe(401);

    // Deleted with its plan.
    expect((await cloud.api.call('DELETE', `/v1/plan/${planId}`)).status).toBe(204);
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/alerts`)).status).toBe(404);
  });
});
