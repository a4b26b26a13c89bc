import { scriptFile } from '../node-scripts.ts';

// The command channel to a node on Compute Engine (see sh/gcp-agent.sh for the agent's side): the
// instance's startup script installs the agent as a systemd service on every boot; the provider
// sets one metadata key to a command and reads the answer from the instance's guest attributes.

/** The instance metadata key the agent watches. */
export const COMMAND_METADATA_KEY = 'cloudseed-command';
/** The guest attribute namespace the agent answers in. */
export const GUEST_NAMESPACE = 'cloudseed';
/** The guest attribute (in GUEST_NAMESPACE) the agent sets to `ready` when it takes commands. */
export const AGENT_READY_KEY = 'agent';
/** What a command id may be: it names files on the node and guest attribute keys (at most 128 bytes with a suffix). */
export const COMMAND_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A metadata value holds at most 256 KiB. */
export const MAX_COMMAND_BYTES = 256 * 1024;

const AGENT_PATH = '/usr/local/lib/cloudseed/agent.sh';
const UNIT = 'cloudseed-agent.service';

/** The `startup-script` metadata value: installs the agent and its unit, and (re)starts it. Runs as root at every boot. */
export function renderStartupScript(): string {
  return [
    '#!/usr/bin/env bash',
    "# CloudSeed: installs the node's command agent and starts it. Compute Engine's guest agent runs this",
    '# as root at every boot; the agent then takes the commands the provider sets in instance metadata.',
    'set -euo pipefail',
    'install -d -m 700 /usr/local/lib/cloudseed',
    `cat >${AGENT_PATH} <<'CLOUDSEED_AGENT'`,
    scriptFile('gcp-agent.sh').trimEnd(),
    'CLOUDSEED_AGENT',
    `chmod 700 ${AGENT_PATH}`,
    `cat >/etc/systemd/system/${UNIT} <<'CLOUDSEED_UNIT'`,
    '[Unit]',
    'Description=CloudSeed command agent',
    'Wants=network-online.target',
    'After=network-online.target google-guest-agent.service',
    '',
    '[Service]',
    `ExecStart=/bin/bash ${AGENT_PATH}`,
    'Restart=always',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    'CLOUDSEED_UNIT',
    'systemctl daemon-reload',
    `systemctl enable ${UNIT}`,
    `systemctl restart ${UNIT}`,
    '',
  ].join('\n');
}

/** The metadata value of command `id`: the id on the first line, the script in base64 on the second. */
export function commandMetadataValue(id: string, script: string): string {
  if (!COMMAND_ID.test(id)) throw new RangeError(`command id ${JSON.stringify(id)} is not one the agent takes`);
  const value = `${id}\n${Buffer.from(script, 'utf8').toString('base64')}`;
  if (Buffer.byteLength(value) > MAX_COMMAND_BYTES)
    throw new RangeError(`command ${id} is ${Buffer.byteLength(value)} bytes in metadata, over the 256 KiB a value holds`);
  return value;
}

/** What the agent has said of a command, from the guest attributes in its namespace. */
export type AgentCommandState =
  | { readonly state: 'unseen' }
  | { readonly state: 'running' }
  | { readonly state: 'ended'; readonly exitCode: number; readonly standardError: string; readonly result?: string };

export function commandStateOf(attributes: ReadonlyMap<string, string>, id: string): AgentCommandState {
  const state = attributes.get(`${id}-state`);
  if (state === undefined) return { state: 'unseen' };
  const ended = /^exit (\d+)$/.exec(state);
  if (!ended) return { state: 'running' };
  const result = attributes.get(id);
  return {
    state: 'ended',
    exitCode: Number(ended[1]),
    standardError: attributes.get(`${id}-stderr`) ?? '',
    ...(result === undefined ? {} : { result }),
  };
}
