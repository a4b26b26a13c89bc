import { gzipSync } from 'node:zlib';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { decodedScript, inputs, mockAws, node, provider, ssmMock, target } from '../support/aws.ts';

// A database's top statements on AWS: sh/top-queries.sh sent with SSM Run Command to the primary,
// with the local cloud's statements; its gzip'd answer read back; a tenant's schema of CloudSeed's
// name said as the reason it cannot.

mockAws();

const primary = node('db-0', 'primary', 'i-0000000000000000a');
const QUERIES = [
  {
    queryId: '7',
    query: 'SELECT * FROM orders WHERE id = $1',
    calls: 12,
    totalTimeMs: 3.5,
    meanTimeMs: 0.29,
    rows: 12,
    sharedBlocksHit: 24,
    sharedBlocksRead: 0,
  },
];

function answers(stdout: string, status: 'Success' | 'Failed' = 'Success', stderr = ''): void {
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-queries' } });
  ssmMock
    .on(GetCommandInvocationCommand)
    .resolves({ Status: status, ResponseCode: status === 'Success' ? 0 : 1, StandardOutputContent: stdout, StandardErrorContent: stderr });
}
const packed = (text: string) => `CLOUDSEED_RESULT {"result":"${gzipSync(Buffer.from(text)).toString('base64')}"}\n`;

describe('top queries on AWS', () => {
  it('runs the script on the primary with the statements the local cloud runs, and reads its answer', async () => {
    answers(packed(`${JSON.stringify(QUERIES)}\n`));

    expect(await provider().topQueries(target(), primary, { order: 'calls', limit: 5 })).toEqual(QUERIES);

    const [sent] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent).toMatchObject({ InstanceIds: ['i-0000000000000000a'], Comment: 'CloudSeed p-1/db top-queries' });
    const script = decodedScript(sent!.Parameters!['commands']!);
    expect(script).toContain("TASK='top-queries'\nDATABASE='app'\n");
    expect(script).toContain("EXPECTED_SCHEMA='cloudseed_stats|trusted'");
    expect(script).toContain(String.raw`SET pg_stat_statements.track = '\''none'\'';` + '\nSET ROLE "app";');
    expect(script).toContain('ORDER BY s.calls DESC, s.queryid\n   LIMIT 5');
  });

  it('resets the counts with the reset statement', async () => {
    answers(packed('\n'));
    await provider().resetTopQueries(target(), primary);
    const script = decodedScript(inputs(ssmMock.commandCalls(SendCommandCommand))[0]!.Parameters!['commands']!);
    expect(script).toContain('.pg_stat_statements_reset((SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ');
  });

  it('says why when the application made CloudSeed’s schema first', async () => {
    answers(
      '',
      'Failed',
      'ERROR:  schema cloudseed_stats belongs to the application, not to CloudSeed\ncloudseed top-queries: pg_stat_statements could not be made',
    );
    await expect(provider().topQueries(target(), primary, { order: 'calls', limit: 5 })).rejects.toThrow(
      'the database has a schema cloudseed_stats of its own; CloudSeed keeps pg_stat_statements there. Rename or drop it to see the top queries.',
    );
  });
});
