import { beforeAll, describe, expect, it } from 'vitest';
import { tables } from '@cloudseed/functions/lib/tables';
import { props, resourcesOfType } from './synth.ts';
import type { Synthesized } from './synth.ts';
import { synth } from './synth.ts';

let dev: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  dev = synth();
  prod = synth({ stage: 'prod' });
}, 60_000);

function tableWithKeys(app: Synthesized, partitionKey: string, sortKey: string | undefined) {
  const keySchema = [{ AttributeName: partitionKey, KeyType: 'HASH' }, ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' }] : [])];
  return resourcesOfType(app.platformTemplate, 'AWS::DynamoDB::Table').filter(
    ([, table]) => JSON.stringify(props(table).KeySchema) === JSON.stringify(keySchema),
  );
}

describe('Data', () => {
  it('creates one table per definition in functions/lib/tables.ts, with its string keys', () => {
    expect(resourcesOfType(dev.platformTemplate, 'AWS::DynamoDB::Table')).toHaveLength(tables.length);
    for (const definition of tables) {
      const matching = tableWithKeys(dev, definition.partitionKey, definition.sortKey);
      expect(matching.length, definition.logicalName).toBeGreaterThanOrEqual(1);
      for (const [, table] of matching) {
        for (const attribute of props(table).AttributeDefinitions as { AttributeType: string }[]) expect(attribute.AttributeType).toBe('S');
      }
    }
  });

  it('bills on demand, keeps point-in-time recovery and encrypts every table', () => {
    for (const [id, table] of resourcesOfType(dev.platformTemplate, 'AWS::DynamoDB::Table')) {
      expect(props(table), id).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    }
  });

  it('lets dev tables go with the stack', () => {
    for (const [id, table] of resourcesOfType(dev.platformTemplate, 'AWS::DynamoDB::Table')) {
      expect(table.DeletionPolicy, id).toBe('Delete');
      expect(props(table).DeletionProtectionEnabled, id).not.toBe(true);
    }
  });

  it('retains and protects prod tables', () => {
    for (const [id, table] of resourcesOfType(prod.platformTemplate, 'AWS::DynamoDB::Table')) {
      expect(table.DeletionPolicy, id).toBe('Retain');
      expect(table.UpdateReplacePolicy, id).toBe('Retain');
      expect(props(table).DeletionProtectionEnabled, id).toBe(true);
    }
  });

  it('names each table to the functions by the variable tables.ts gives it', () => {
    const variables = new Set(tables.map((definition) => definition.env));
    const named = new Set(
      resourcesOfType(dev.platformTemplate, 'AWS::Lambda::Function').flatMap(([, fn]) =>
        Object.keys((props(fn).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
      ),
    );
    for (const variable of variables) expect(named.has(variable), variable).toBe(true);
  });
});
