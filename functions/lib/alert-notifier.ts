import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { AlertMessage } from '@cloudseed/shared/alerts/alerts';

// Where an incident's one message goes. On AWS it is e-mailed with SES from the platform's
// verified sender; on the local cloud it is kept in CLOUDSEED_HOME/outbox/alerts.jsonl (one JSON
// line per message), beside the banner and the alert list the web app shows.

export interface AlertNotifier {
  /** Sends the message; answers where it went. */
  send(message: AlertMessage): Promise<string>;
}

export class SesNotifier implements AlertNotifier {
  readonly #client: SESv2Client;
  readonly #from: string;

  constructor(client: SESv2Client, from: string) {
    this.#client = client;
    this.#from = from;
  }

  async send(message: AlertMessage): Promise<string> {
    await this.#client.send(
      new SendEmailCommand({
        FromEmailAddress: this.#from,
        Destination: { ToAddresses: [message.to] },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: message.text, Charset: 'UTF-8' } },
          },
        },
      }),
    );
    return message.to;
  }
}

export class OutboxNotifier implements AlertNotifier {
  readonly #file: string;

  constructor(home: string) {
    this.#file = join(home, 'outbox', 'alerts.jsonl');
  }

  async send(message: AlertMessage): Promise<string> {
    await mkdir(join(this.#file, '..'), { recursive: true, mode: 0o700 });
    await appendFile(this.#file, `${JSON.stringify({ at: new Date().toISOString(), ...message })}\n`, { mode: 0o600 });
    return `${message.to} (local outbox)`;
  }
}

export function newSesNotifier(from: string): SesNotifier {
  return new SesNotifier(new SESv2Client({}), from);
}
