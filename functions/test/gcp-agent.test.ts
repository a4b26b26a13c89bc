import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandMetadataValue, commandStateOf, renderStartupScript } from '@cloudseed/shared/targets/gcp/agent';
import type { AgentCommandState } from '@cloudseed/shared/targets/gcp/agent';
import { scriptFile } from '@cloudseed/shared/targets/node-scripts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpFake } from './support/cloud-fakes.ts';
import type { GcpFake } from './support/cloud-fakes.ts';

// The node's command agent on Compute Engine (shared/src/targets/sh/gcp-agent.sh), run for real with
// bash against the loopback metadata server: it waits on the `cloudseed-command` key, runs what the
// provider sets there once, and answers through guest attributes, which commandStateOf reads the way
// the provider does.

let fake: GcpFake;
let dir: string;
let agent: ChildProcess;
let agentErrors = '';

/** Starts the agent in a process group of its own, so a test can kill it with the command it runs, as systemd would. */
function startAgent(): ChildProcess {
  const started = spawn('bash', ['-c', scriptFile('gcp-agent.sh')], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...fake.env, CLOUDSEED_AGENT_STATE: join(dir, 'state') },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  started.stderr?.on('data', (chunk: Buffer) => (agentErrors += chunk.toString()));
  return started;
}

function killAgent(): void {
  if (agent.pid !== undefined && agent.exitCode === null) process.kill(-agent.pid, 'SIGKILL');
}

beforeAll(async () => {
  fake = await startGcpFake();
  dir = await mkdtemp(join(tmpdir(), 'cs-gcp-agent-'));
  agent = startAgent();
  await until(() => fake.guestAttributes.get('cloudseed/agent') === 'ready', 'the agent to say it is ready');
});

afterAll(async () => {
  if (agent) killAgent();
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the agent said: ${agentErrors}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The guest attributes of the agent's namespace, keyed without it, as the provider reads them. */
function attributes(): Map<string, string> {
  return new Map(
    [...fake.guestAttributes].filter(([key]) => key.startsWith('cloudseed/')).map(([key, value]) => [key.slice('cloudseed/'.length), value]),
  );
}

async function run(id: string, script: string): Promise<AgentCommandState> {
  fake.setAttribute('cloudseed-command', commandMetadataValue(id, script));
  await until(() => commandStateOf(attributes(), id).state === 'ended', `command ${id} to end`);
  return commandStateOf(attributes(), id);
}

describe('the GCP command agent', () => {
  it('runs a command and reports its exit code and the end of its standard error', async () => {
    const state = await run('c-exit', 'echo "starting" >&2\necho "the disk is full" >&2\nexit 3\n');

    expect(state).toEqual({ state: 'ended', exitCode: 3, standardError: 'starting\nthe disk is full\n' });
  });

  it("gives the script its command id, and the prelude's report_status answers through the command's guest attribute", async () => {
    const script = `RESULT_MARKER=CLOUDSEED_RESULT\n${scriptFile('prelude-gcp.sh')}\nexec 3>&1 1>&2\necho "id $COMMAND_ID" >&2\nreport_status '{"ok":true}'\n`;

    const state = await run('c-result', script);

    expect(state).toEqual({ state: 'ended', exitCode: 0, standardError: 'id c-result\n', result: '{"ok":true}' });
  });

  it('runs a command once, however often its metadata is set again, and reports it again', async () => {
    const counter = join(dir, 'runs');
    const script = `echo run >> ${counter}\n`;
    await run('c-once', script);
    fake.guestAttributes.delete('cloudseed/c-once-state');

    fake.setAttribute('cloudseed-command', commandMetadataValue('c-once', script));
    await until(() => fake.guestAttributes.has('cloudseed/c-once-state'), 'the command to be reported again');

    expect(await readFile(counter, 'utf8')).toBe('run\n');
    expect(commandStateOf(attributes(), 'c-once')).toMatchObject({ state: 'ended', exitCode: 0 });
  });

  it('runs a command again from the start when the agent was killed while it ran, and reports that run', async () => {
    const runs = join(dir, 'killed-runs');
    const release = join(dir, 'release');
    const script = `echo started >> ${runs}\nuntil [ -e ${release} ]; do sleep 0.05; done\n`;
    fake.setAttribute('cloudseed-command', commandMetadataValue('c-killed', script));
    await until(async () => (await readFile(runs, 'utf8').catch(() => '')) === 'started\n', 'the command to start');
    expect(commandStateOf(attributes(), 'c-killed')).toEqual({ state: 'running' });

    killAgent();
    agent = startAgent();
    await until(async () => (await readFile(runs, 'utf8').catch(() => '')) === 'started\nstarted\n', 'the command to start again');
    await writeFile(release, '');
    await until(() => commandStateOf(attributes(), 'c-killed').state === 'ended', 'the second run to end');

    expect(commandStateOf(attributes(), 'c-killed')).toEqual({ state: 'ended', exitCode: 0, standardError: '' });
  });

  it('keeps only the last 2,000 bytes of standard error', async () => {
    const state = await run('c-long', `head -c 5000 /dev/zero | tr '\\0' 'x' >&2\necho END >&2\n`);

    expect(state).toMatchObject({ state: 'ended', exitCode: 0 });
    expect(state.state === 'ended' && state.standardError.length).toBe(2000);
    expect(state.state === 'ended' && state.standardError.endsWith('xEND\n')).toBe(true);
  });

  it('fails a command whose script is not base64, and ignores one whose id it would not take', async () => {
    fake.setAttribute('cloudseed-command', 'Bad_Id\nZWNobyBoaQ==');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...fake.guestAttributes.keys()].filter((key) => key.includes('Bad'))).toEqual([]);

    fake.setAttribute('cloudseed-command', 'c-garbled\n***not base64***');
    await until(() => commandStateOf(attributes(), 'c-garbled').state === 'ended', 'the garbled command to end');

    expect(commandStateOf(attributes(), 'c-garbled')).toEqual({
      state: 'ended',
      exitCode: 126,
      standardError: 'cloudseed-agent: the script of command c-garbled is not valid base64\n',
    });
  });

  it('is refused a command id the agent would not take, or a script over what a metadata value holds', () => {
    expect(() => commandMetadataValue('../etc', 'true')).toThrow(/not one the agent takes/);
    expect(() => commandMetadataValue('big', 'x'.repeat(200 * 1024))).toThrow(/over the 256 KiB/);
  });
});

describe('the startup script', () => {
  it('installs the agent verbatim as a systemd service, and is shellcheck-clean', () => {
    const script = renderStartupScript();
    const agentText = /<<'CLOUDSEED_AGENT'\n([\s\S]*?)\nCLOUDSEED_AGENT\n/.exec(script)?.[1];

    expect(agentText).toBe(scriptFile('gcp-agent.sh').trimEnd());
    expect(script).toContain('ExecStart=/bin/bash /usr/local/lib/cloudseed/agent.sh\nRestart=always');
    expect(script).toMatch(/systemctl enable cloudseed-agent\.service\nsystemctl restart cloudseed-agent\.service\n$/);
    const lint = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
    expect(lint.stdout).toBe('');
  });
});
