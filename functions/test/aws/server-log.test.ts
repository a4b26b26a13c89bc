import { gzipSync } from 'node:zlib';
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { decodedScript, inputs, mockAws, node, provider, ssmMock, target } from '../support/aws.ts';

// A node's PostgreSQL log on AWS: sh/server-log.sh sent with SSM Run Command to the node asked for,
// its result (the log's newest end, gzip'd) read back and unpacked, a failure said as one.

mockAws();

const replica = node('db-1', 'replica', 'i-0000000000000000b');
const LOG = [
  'half a line from before',
  '2030-01-01 12:00:00.120 UTC [101] LOG:  checkpoint starting: time',
  '2030-01-01 12:00:02.000 UTC [202] app@app ERROR:  role "nobody" does not exist',
  '',
].join('\n');

function answers(result: Record<string, unknown>): void {
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-log' } });
  ssmMock
    .on(GetCommandInvocationCommand)
    .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: `CLOUDSEED_RESULT ${JSON.stringify(result)}\n` });
}

describe('a node’s PostgreSQL log on AWS', () => {
  it('runs the log script on the node asked for and unpacks what it read, from its first whole line', async () => {
    const packed = gzipSync(Buffer.from(LOG));
    answers({ log: packed.toString('base64'), bytes: Buffer.byteLength(LOG) });

    const text = await provider().serverLog(target(), replica);

    expect(text).toBe(LOG.slice(LOG.indexOf('\n') + 1));
    const [sent] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent).toMatchObject({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0000000000000000b'], Comment: 'CloudSeed p-1/db server-log' });
    const script = decodedScript(sent!.Parameters!['commands']!);
    expect(script).toContain("TASK='server-log'\nTAIL_BYTES='196608'\nMAX_RESULT_CHARS='20000'\n");
    expect(script).toContain("current_setting('log_directory')");
    expect(script).toContain('report_status "{\\"log\\":\\"$encoded\\",\\"bytes\\":$bytes}"');
  });

  it('keeps the whole text when the files held less than was asked for', async () => {
    answers({ log: gzipSync(Buffer.from(LOG)).toString('base64'), bytes: 196_608 });
    expect(await provider().serverLog(target(), replica)).toBe(LOG);
  });

  it('says so when the node gave no log, or one that is not gzip', async () => {
    answers({ bytes: 10 });
    await expect(provider().serverLog(target(), replica)).rejects.toMatchObject({
      name: 'PermanentError',
      message: expect.stringContaining('gave no log') as string,
    });
    answers({ log: Buffer.from('plain text').toString('base64'), bytes: 10 });
    await expect(provider().serverLog(target(), replica)).rejects.toThrow('is not gzip');
  });
});
