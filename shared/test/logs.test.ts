import { describe, expect, it } from 'vitest';
import { MASK, maskSecrets, parseLogsRequest, parsePostgresLog, selectEntries } from '../src/metrics/logs.ts';

// A database node's PostgreSQL log as the API answers it: entries with their follow-up lines,
// slow statements marked, and no password left in any of them however it was written.

const LOG = [
  '2030-01-01 12:00:00.120 UTC [101] LOG:  checkpoint starting: time',
  '2030-01-01 12:00:01.500 UTC [202] app@appdb LOG:  duration: 1203.456 ms  statement: SELECT pg_sleep(1.2)',
  '2030-01-01 12:00:02.000 UTC [202] app@appdb ERROR:  role "nobody" does not exist',
  "2030-01-01 12:00:02.000 UTC [202] app@appdb STATEMENT:  ALTER ROLE nobody PASSWORD 'hunter2'",
  '2030-01-01 12:00:03.000 UTC [303] app@appdb LOG:  duration: 2000.000 ms  statement: SELECT a,',
  '\t  b FROM wide',
  '\t  WHERE c > 1',
  '2030-01-01 12:00:04.000 UTC [404] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=5555',
  '',
].join('\n');

describe('a PostgreSQL log', () => {
  it('becomes entries with their statements folded in, sessions named and slow statements timed', () => {
    const entries = parsePostgresLog(LOG);
    expect(entries).toEqual([
      { time: '2030-01-01T12:00:00.120Z', pid: 101, level: 'LOG', text: 'checkpoint starting: time' },
      {
        time: '2030-01-01T12:00:01.500Z',
        pid: 202,
        level: 'LOG',
        user: 'app',
        database: 'appdb',
        text: 'duration: 1203.456 ms  statement: SELECT pg_sleep(1.2)',
        durationMs: 1203.456,
      },
      {
        time: '2030-01-01T12:00:02.000Z',
        pid: 202,
        level: 'ERROR',
        user: 'app',
        database: 'appdb',
        text: `role "nobody" does not exist\nSTATEMENT:  ALTER ROLE nobody PASSWORD '${MASK}'`,
      },
      {
        time: '2030-01-01T12:00:03.000Z',
        pid: 303,
        level: 'LOG',
        user: 'app',
        database: 'appdb',
        text: 'duration: 2000.000 ms  statement: SELECT a,\n\t  b FROM wide\n\t  WHERE c > 1',
        durationMs: 2000,
      },
      {
        time: '2030-01-01T12:00:04.000Z',
        pid: 404,
        level: 'LOG',
        user: '[unknown]',
        database: '[unknown]',
        text: 'connection received: host=127.0.0.1 port=5555',
      },
    ]);
  });

  it('drops text before its first entry (a read that began mid-message)', () => {
    expect(parsePostgresLog('ms  statement: half of it\n' + LOG.split('\n')[0]!)).toHaveLength(1);
  });

  it('is searched after masking, newest entries kept', () => {
    const entries = parsePostgresLog(LOG);
    expect(selectEntries(entries, { tail: 2 }).map((entry) => entry.pid)).toEqual([303, 404]);
    expect(selectEntries(entries, { tail: 10, search: 'PG_SLEEP' }).map((entry) => entry.pid)).toEqual([202]);
    // The password is not there to be found.
    expect(selectEntries(entries, { tail: 10, search: 'hunter2' })).toEqual([]);
  });
});

describe('masking secrets', () => {
  it.each([
    ["CREATE ROLE a LOGIN PASSWORD 'plain'", `CREATE ROLE a LOGIN PASSWORD '${MASK}'`],
    ["ALTER USER a WITH ENCRYPTED PASSWORD 'it''s' VALID UNTIL 'infinity'", `ALTER USER a WITH ENCRYPTED PASSWORD '${MASK}' VALID UNTIL 'infinity'`],
    ["alter role a password E'back\\\\slash\\'quote'", `alter role a password '${MASK}'`],
    ['ALTER ROLE a PASSWORD $$dollar$$', `ALTER ROLE a PASSWORD '${MASK}'`],
    ['ALTER ROLE a PASSWORD $pw$do$$llar$pw$ LOGIN', `ALTER ROLE a PASSWORD '${MASK}' LOGIN`],
    ["ALTER ROLE a PASSWORD\n  'split over lines'", `ALTER ROLE a PASSWORD\n  '${MASK}'`],
    ["ALTER ROLE a PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy'", `ALTER ROLE a PASSWORD '${MASK}'`],
    ["ALTER ROLE a PASSWORD 'never closed", `ALTER ROLE a PASSWORD '${MASK}'`],
    [
      'could not connect: host=db port=5432 user=app password=s3cret dbname=x',
      `could not connect: host=db port=5432 user=app password=${MASK} dbname=x`,
    ],
    ["primary_conninfo = 'user=rep password=''q w'' host=p'", `primary_conninfo = 'user=rep password=${MASK} host=p'`],
    ['dsn postgresql://app:pa55@db:5432/appdb', `dsn postgresql://app:${MASK}@db:5432/appdb`],
    [
      `unterminated quoted string at or near "'open secret"\nSTATEMENT:  ALTER ROLE a PASSWORD 'open secret`,
      `unterminated quoted string at or near "${MASK}"\nSTATEMENT:  ALTER ROLE a PASSWORD '${MASK}'`,
    ],
  ])('masks %j', (text, masked) => {
    expect(maskSecrets(text)).toBe(masked);
  });

  it('leaves text without secrets as it was', () => {
    for (const text of ["SET password_encryption = 'scram-sha-256'", 'syntax error at or near "SELEC"', "SELECT 'no secret here'"]) {
      expect(maskSecrets(text)).toBe(text);
    }
  });
});

describe('a logs request', () => {
  it('takes a node, a tail and a search', () => {
    expect(parseLogsRequest({})).toEqual({ ok: true, request: { tail: 200 } });
    expect(parseLogsRequest({ node: 'db-2', tail: '50', q: ' duration ' })).toEqual({
      ok: true,
      request: { node: 'db-2', tail: 50, search: 'duration' },
    });
  });

  it('names each parameter it cannot take', () => {
    const result = parseLogsRequest({ node: '../etc', tail: '0', q: 'x'.repeat(201) });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((error) => error.path)).toEqual(['?node', '?tail', '?q']);
    for (const tail of ['2001', '1.5', '-3', 'ten', '1e2']) expect(parseLogsRequest({ tail }).ok).toBe(false);
  });
});
