import { describe, expect, it } from 'vitest';
import { alertMessage, conditionsOf, DEFAULT_ALERT_SETTINGS, parseAlertSettings } from '../src/alerts/alerts.ts';
import type { AlertInputs, AlertSettings } from '../src/alerts/alerts.ts';

// The alert rules every cloud evaluates: which conditions hold for a deployment's figures, health
// and backups under the owner's settings, and how settings are checked.

const GiB = 1024 ** 3;

const inputs = (changes: Partial<AlertInputs> = {}): AlertInputs => ({
  figures: [
    { component: 'db', node: 'db-0', diskUsedBytes: 85 * GiB, diskFreeBytes: 15 * GiB, connections: 95, maxConnections: 100 },
    {
      component: 'db',
      node: 'db-1',
      diskUsedBytes: 10 * GiB,
      diskFreeBytes: 90 * GiB,
      connections: 3,
      maxConnections: 100,
      replicationLagSeconds: 75.04,
    },
  ],
  downNodes: [],
  ...changes,
});

const withRules = (rules: Partial<AlertSettings['rules']>): AlertSettings => ({ rules: { ...DEFAULT_ALERT_SETTINGS.rules, ...rules } });

describe('alert conditions', () => {
  it('hold where a node is past its threshold, each with a key that stays the same', () => {
    const found = conditionsOf(inputs(), DEFAULT_ALERT_SETTINGS);
    expect(found).toEqual([
      {
        key: 'disk:db:db-0',
        rule: 'disk',
        component: 'db',
        node: 'db-0',
        value: 85,
        threshold: 80,
        message: 'db-0: disk 85 % full (alert above 80 %)',
      },
      {
        key: 'connections:db:db-0',
        rule: 'connections',
        component: 'db',
        node: 'db-0',
        value: 95,
        threshold: 90,
        message: 'db-0: 95 of 100 connections in use (95 %, alert from 90 %)',
      },
      {
        key: 'replication_lag:db:db-1',
        rule: 'replication_lag',
        component: 'db',
        node: 'db-1',
        value: 75,
        threshold: 60,
        message: 'db-1: replica 75 s behind its primary (alert above 60 s)',
      },
    ]);
    expect(conditionsOf(inputs(), DEFAULT_ALERT_SETTINGS).map((condition) => condition.key)).toEqual(found.map((condition) => condition.key));
  });

  it('include a node the health check found down and a failed backup', () => {
    const found = conditionsOf(
      inputs({ figures: [], downNodes: [{ component: 'db', node: 'db-1', detail: 'no answer on 5432' }], backupFailure: 'Validate: 3 rows missing' }),
      DEFAULT_ALERT_SETTINGS,
    );
    expect(found.map(({ key, message }) => ({ key, message }))).toEqual([
      { key: 'node_down:db:db-1', message: 'db-1 is down: no answer on 5432' },
      { key: 'backup_failed::', message: 'The last backup failed: Validate: 3 rows missing' },
    ]);
  });

  it('follow the owner’s thresholds, and a rule turned off holds nothing', () => {
    const settings = withRules({
      disk: { enabled: true, thresholdPercent: 90 },
      connections: { enabled: false, thresholdPercent: 90 },
      replication_lag: { enabled: true, thresholdSeconds: 120 },
      node_down: { enabled: false },
    });
    expect(conditionsOf(inputs({ downNodes: [{ component: 'db', node: 'db-1', detail: 'x' }] }), settings)).toEqual([]);
    // Exactly at the threshold: disk is not above it, connections are at it.
    const at = inputs({ figures: [{ component: 'db', node: 'db-0', diskUsedBytes: 80, diskFreeBytes: 20, connections: 90, maxConnections: 100 }] });
    expect(conditionsOf(at, DEFAULT_ALERT_SETTINGS).map((condition) => condition.rule)).toEqual(['connections']);
  });

  it('keep an open incident until its figure is a margin below the threshold', () => {
    const hovering = inputs({
      figures: [
        { component: 'db', node: 'db-0', diskUsedBytes: 78, diskFreeBytes: 22, connections: 86, maxConnections: 100 },
        { component: 'db', node: 'db-1', replicationLagSeconds: 49 },
      ],
    });
    expect(conditionsOf(hovering, DEFAULT_ALERT_SETTINGS)).toEqual([]);
    const open = new Set(['disk:db:db-0', 'connections:db:db-0', 'replication_lag:db:db-1']);
    expect(conditionsOf(hovering, DEFAULT_ALERT_SETTINGS, open).map((condition) => condition.key)).toEqual([...open]);
    const below = inputs({
      figures: [
        { component: 'db', node: 'db-0', diskUsedBytes: 74, diskFreeBytes: 26, connections: 84, maxConnections: 100 },
        { component: 'db', node: 'db-1', replicationLagSeconds: 47 },
      ],
    });
    expect(conditionsOf(below, DEFAULT_ALERT_SETTINGS, open)).toEqual([]);
  });

  it('say nothing of what was not measured', () => {
    expect(conditionsOf(inputs({ figures: [{ component: 'db', node: 'db-0' }] }), DEFAULT_ALERT_SETTINGS)).toEqual([]);
  });
});

describe('alert settings', () => {
  it('take thresholds per rule and an address', () => {
    const settings = { email: 'ops@example.com', rules: withRules({ disk: { enabled: true, thresholdPercent: 70 } }).rules };
    expect(parseAlertSettings(settings)).toEqual({ ok: true, settings });
  });

  it('name each field they cannot take', () => {
    const result = parseAlertSettings({
      email: 'not an address',
      rules: {
        ...DEFAULT_ALERT_SETTINGS.rules,
        disk: { enabled: true, thresholdPercent: 180 },
        replication_lag: { enabled: 'yes', thresholdSeconds: 1.5 },
        cpu: { enabled: true },
      },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((error) => error.path).sort()).toEqual([
      '/email',
      '/rules/cpu',
      '/rules/disk/thresholdPercent',
      '/rules/replication_lag/enabled',
      '/rules/replication_lag/thresholdSeconds',
    ]);
    expect(!result.ok && result.errors.find((error) => error.path === '/rules/disk/thresholdPercent')?.message).toBe('must be from 1 to 100');
    expect(parseAlertSettings({ rules: { disk: DEFAULT_ALERT_SETTINGS.rules.disk } }).ok).toBe(false);
    expect(parseAlertSettings(null).ok).toBe(false);
  });
});

describe('an alert’s message', () => {
  it('names the plan and the condition, and links to the plan', () => {
    const message = alertMessage(
      'orders',
      { message: 'db-0: disk 85 % full (alert above 80 %)', firedAt: '2030-01-01T12:00:00.000Z' },
      'ops@example.com',
      'https://app.example.com/plans/p1',
    );
    expect(message.to).toBe('ops@example.com');
    expect(message.subject).toBe('[CloudSeed] orders: db-0: disk 85 % full (alert above 80 %)');
    expect(message.text).toContain('started at 2030-01-01T12:00:00.000Z');
    expect(message.text).toContain('Open the plan: https://app.example.com/plans/p1');
  });
});
