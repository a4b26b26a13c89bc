import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { OutboxNotifier, SesNotifier } from '../lib/alert-notifier.ts';

// Where an incident's one message goes: SES on AWS (the exact SendEmail asked for), the local
// outbox on the local cloud.

const ses = mockClient(SESv2Client);
const message = { to: 'ops@example.com', subject: '[CloudSeed] orders: db-0: disk 85 % full', text: 'An alert of your plan…' };
const home = mkdtempSync(join(tmpdir(), 'cloudseed-outbox-'));

beforeEach(() => ses.reset());
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('alert messages', () => {
  it('are e-mailed with SES from the configured sender, as plain UTF-8 text', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const to = await new SesNotifier(new SESv2Client({ region: 'eu-west-1' }), 'alerts@mail.example.com').send(message);
    expect(to).toBe('ops@example.com');
    expect(ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input)).toEqual([
      {
        FromEmailAddress: 'alerts@mail.example.com',
        Destination: { ToAddresses: ['ops@example.com'] },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: message.text, Charset: 'UTF-8' } },
          },
        },
      },
    ]);
  });

  it('fail when SES refuses, so the incident records no message', async () => {
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected' }));
    await expect(new SesNotifier(new SESv2Client({ region: 'eu-west-1' }), 'alerts@mail.example.com').send(message)).rejects.toThrow('not verified');
  });

  it('are kept one JSON line each in the local outbox, readable by its owner only', async () => {
    const outbox = new OutboxNotifier(home);
    expect(await outbox.send(message)).toBe('ops@example.com (local outbox)');
    await outbox.send({ ...message, subject: 'second' });
    const file = join(home, 'outbox', 'alerts.jsonl');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.subject)).toEqual([message.subject, 'second']);
    expect(lines[0]).toMatchObject({ to: 'ops@example.com', text: message.text, at: expect.any(String) as string });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
