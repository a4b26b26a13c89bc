import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  DescribeUserPoolClientCommand,
  DescribeUserPoolCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { LOCAL_REGION } from './aws.ts';
import type { LocalCredentials } from './aws.ts';
import type { LocalCloudState } from './home.ts';
import { log } from './log.ts';
import { freePort, LOOPBACK, origin } from './ports.ts';

/** The Lambda name cognito-local invokes for PreSignUp; the local Lambda endpoint serves it. */
export const PRE_SIGN_UP_FUNCTION = 'cloudseed-pre-sign-up';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CognitoLocal {
  /** `http://127.0.0.1:<port>`: the Cognito API endpoint, and the issuer domain of its tokens. */
  readonly endpoint: string;
  readonly pid: number | undefined;
  /** Settles when the child exits, for whatever reason. */
  readonly exited: Promise<ChildExit>;
  /** The child's last lines of output, to explain an unexpected exit. */
  recentOutput(): string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const START_SCRIPT = require.resolve('cognito-local/lib/bin/start.js');
const GUARD = new URL('./cognito-guard.ts', import.meta.url).href;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 2_500;
const PORT_ATTEMPTS = 3;

export interface CognitoOptions {
  /** The local Lambda endpoint its PreSignUp trigger calls. */
  readonly lambdaEndpoint: string;
  /** The installation's token-signing key file (keys.ts), used instead of the package's own key. */
  readonly signingKeyFile: string;
  /** The pages allowed to call it from a browser: the local cloud's own origins. */
  readonly allowedOrigins: readonly string[];
  readonly credentials: LocalCredentials;
}

/**
 * cognito-local as a child process, its data under `CLOUDSEED_HOME/cognito/.cognito`, on a free
 * loopback port. Its PreSignUp trigger calls the local Lambda endpoint, so sign-ups are confirmed.
 */
export async function startCognitoLocal(home: string, options: CognitoOptions): Promise<CognitoLocal> {
  const directory = join(home, 'cognito');
  await mkdir(join(directory, '.cognito', 'db'), { recursive: true, mode: 0o700 });
  for (let attempt = 1; ; attempt++) {
    // cognito-local must know its port before it starts (the issuer names it), so the port is
    // picked here and can, rarely, be taken in between: then try another.
    const port = await freePort();
    await writeConfig(directory, port, options);
    const child = spawnCognitoLocal(directory, port, options);
    try {
      await waitUntilServing(child, port);
      return child;
    } catch (error) {
      await child.stop();
      if (attempt < PORT_ATTEMPTS && child.recentOutput().includes('EADDRINUSE')) continue;
      throw error;
    }
  }
}

function writeConfig(directory: string, port: number, { lambdaEndpoint, credentials }: CognitoOptions): Promise<void> {
  const config = {
    LambdaClient: { endpoint: lambdaEndpoint, region: LOCAL_REGION, credentials, maxRetries: 0 },
    TriggerFunctions: { PreSignUp: PRE_SIGN_UP_FUNCTION },
    TokenConfig: { IssuerDomain: origin(LOOPBACK, port) },
    UserPoolDefaults: { UsernameAttributes: ['email'] },
  };
  return writeFile(join(directory, '.cognito', 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

function spawnCognitoLocal(directory: string, port: number, { signingKeyFile, allowedOrigins }: CognitoOptions): CognitoLocal {
  const child = spawn(process.execPath, ['--import', GUARD, START_SCRIPT], {
    cwd: directory,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: LOOPBACK,
      // Read by cognito-guard.ts, which refuses to start cognito-local without them.
      CLOUDSEED_TOKEN_SIGNING_KEY_FILE: signingKeyFile,
      CLOUDSEED_ALLOWED_ORIGINS: allowedOrigins.join(','),
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      NO_COLOR: '1',
    },
    // Its own process group: a Ctrl-C in the terminal reaches the local cloud, which stops this
    // child itself, in order. The IPC channel lets the child notice if the local cloud dies.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.channel?.unref();
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      const text = stripVTControlCharacters(line);
      output.push(text);
      if (output.length > 40) output.shift();
      log.debug(`cognito-local: ${text}`);
    });
  }
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      output.push(error.message);
      resolve({ code: null, signal: null });
    });
  });
  return {
    endpoint: origin(LOOPBACK, port),
    pid: child.pid,
    exited,
    recentOutput: () => output.join('\n'),
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<ChildExit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitUntilServing(cognito: CognitoLocal, port: number): Promise<void> {
  let exit: ChildExit | undefined;
  void cognito.exited.then((result) => (exit = result));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      throw new Error(`cognito-local exited while starting (code ${exit.code}, signal ${exit.signal}):\n${cognito.recentOutput()}`);
    }
    try {
      const response = await fetch(`${origin(LOOPBACK, port)}/health`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`cognito-local did not answer within ${READY_TIMEOUT_MS} ms:\n${cognito.recentOutput()}`);
}

export interface UserPoolIds {
  readonly userPoolId: string;
  readonly userPoolClientId: string;
}

/**
 * The `cloudseed` user pool and its `cloudseed-web` app client: the ones remembered in `state`
 * when they still exist, new ones otherwise.
 */
export async function ensureUserPool(endpoint: string, credentials: LocalCredentials, state: LocalCloudState): Promise<UserPoolIds> {
  const client = new CognitoIdentityProviderClient({ endpoint, region: LOCAL_REGION, credentials });
  try {
    const userPoolId = (await rememberedUserPool(client, state.userPoolId)) ?? (await createUserPool(client));
    const userPoolClientId = (await rememberedAppClient(client, userPoolId, state.userPoolClientId)) ?? (await createAppClient(client, userPoolId));
    return { userPoolId, userPoolClientId };
  } finally {
    client.destroy();
  }
}

/** The remembered pool's id if cognito-local still has it. */
async function rememberedUserPool(client: CognitoIdentityProviderClient, userPoolId: string | undefined): Promise<string | undefined> {
  if (userPoolId === undefined) return undefined;
  return (await found(() => client.send(new DescribeUserPoolCommand({ UserPoolId: userPoolId })))) ? userPoolId : undefined;
}

/** The remembered app client's id if it still exists, in that pool. */
async function rememberedAppClient(
  client: CognitoIdentityProviderClient,
  userPoolId: string,
  clientId: string | undefined,
): Promise<string | undefined> {
  if (clientId === undefined) return undefined;
  return (await found(() => client.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId })))) ? clientId : undefined;
}

async function found(describe: () => Promise<unknown>): Promise<boolean> {
  try {
    await describe();
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

async function createUserPool(client: CognitoIdentityProviderClient): Promise<string> {
  const { UserPool } = await client.send(
    new CreateUserPoolCommand({
      PoolName: 'cloudseed',
      UsernameAttributes: ['email'],
      AutoVerifiedAttributes: ['email'],
      Policies: {
        PasswordPolicy: { MinimumLength: 12, RequireUppercase: true, RequireLowercase: true, RequireNumbers: true, RequireSymbols: false },
      },
    }),
  );
  if (UserPool?.Id === undefined) throw new Error('cognito-local created a user pool without an id');
  return UserPool.Id;
}

async function createAppClient(client: CognitoIdentityProviderClient, userPoolId: string): Promise<string> {
  const { UserPoolClient } = await client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: 'cloudseed-web',
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH'],
      PreventUserExistenceErrors: 'ENABLED',
      // cognito-local defaults the id token's unit to minutes where Cognito uses hours: say it.
      AccessTokenValidity: 1,
      IdTokenValidity: 1,
      RefreshTokenValidity: 30,
      TokenValidityUnits: { AccessToken: 'hours', IdToken: 'hours', RefreshToken: 'days' },
    }),
  );
  if (UserPoolClient?.ClientId === undefined) throw new Error('cognito-local created an app client without an id');
  return UserPoolClient.ClientId;
}
