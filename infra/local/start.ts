// `npm start`: the local cloud. dynalite, cognito-local and an API Gateway stand-in in front of the
// same handler modules that run on Lambda. Prints one `ready` line on stdout when it
// can serve; logs go to stderr. SIGINT/SIGTERM stop it, children first.
//
//   HOST             where the API listens (default 127.0.0.1); the emulators always use loopback.
//                    An address other than loopback is refused unless CLOUDSEED_ALLOW_REMOTE=1.
//   PORT             default 8080; 0 picks a free port (the ready line says which)
//   CLOUDSEED_HOME   state: DynamoDB tables, users, ids, the installation's keys (default .cloudseed/
//                    in the repository)
//   CLOUDSEED_VERBOSE=1  request lines and the emulators' own output on stderr

import { tables } from '@cloudseed/functions/lib/tables';
import { DEFAULT_POSTGRES_ROOT, installedMajors } from '@cloudseed/functions/providers/local/server';
import { LOCAL_REGION } from './aws.ts';
import { WEB_BUILD_DIR, webApp } from './web-app.ts';
import { ensureUserPool, PRE_SIGN_UP_FUNCTION, startCognitoLocal } from './cognito.ts';
import type { CognitoLocal } from './cognito.ts';
import { docsAssets } from './docs-assets.ts';
import { ensureTables, startDynamo } from './dynamo.ts';
import type { Dynamo } from './dynamo.ts';
import { prepareHome, readState, writeState } from './home.ts';
import { isLoopback, remoteHostRefusal } from './host-policy.ts';
import { createHttpAdapter } from './http-adapter.ts';
import type { HttpAdapter, PublicConfig } from './http-adapter.ts';
import { installationKeys } from './keys.ts';
import { startLambdaInvoke } from './lambda-invoke.ts';
import type { LambdaInvokeServer } from './lambda-invoke.ts';
import { log } from './log.ts';
import { LOOPBACK, origin } from './ports.ts';
import { loadRoutes, routeTable } from './routes.ts';
import { startInstances, startWorkflows, workflowEnvironment } from './workflows.ts';
import type { LocalWorkflows } from './workflows.ts';

interface Running {
  adapter?: HttpAdapter;
  dynamo?: Dynamo;
  lambda?: LambdaInvokeServer;
  cognito?: CognitoLocal;
  workflows?: LocalWorkflows;
  instances?: { stop(): Promise<void> };
}

const STARTUP_WAIT_ON_STOP_MS = 3_000;
const STOP_TIMEOUT_MS = 5_000;

const running: Running = {};
let stopping = false;

async function start(): Promise<void> {
  const host = process.env.HOST === undefined || process.env.HOST === '' ? LOOPBACK : process.env.HOST;
  const port = parsePort(process.env.PORT);
  // Before anything is created or started.
  const refusal = remoteHostRefusal(host, process.env);
  if (refusal !== undefined) throw new Error(refusal);
  const home = await prepareHome(process.env.CLOUDSEED_HOME);
  const keys = await installationKeys(home);

  // The public port first: if it is taken, say so before starting anything else.
  const adapter = createHttpAdapter();
  let boundPort: number;
  try {
    boundPort = await adapter.listen(port, host);
  } catch (error) {
    throw new Error(`cannot listen on ${host}:${port}: ${describeListenError(error)}`, { cause: error });
  }
  running.adapter = adapter;
  const apiBase = origin(host === '0.0.0.0' || host === '::' ? LOOPBACK : host, boundPort);
  // The pages that may call cognito-local from a browser: the web app, under the names a browser
  // on this machine may use for it.
  const webOrigins = [
    ...new Set([
      apiBase,
      ...(isLoopback(host) || host === '0.0.0.0' || host === '::' ? ['127.0.0.1', 'localhost', '::1'].map((name) => origin(name, boundPort)) : []),
    ]),
  ];

  const [dynamo, lambda] = await Promise.all([
    startDynamo(home).then((started) => (running.dynamo = started)),
    startLambdaInvoke().then((started) => (running.lambda = started)),
  ]);
  const cognito = await startCognitoLocal(home, {
    lambdaEndpoint: lambda.endpoint,
    signingKeyFile: keys.tokenSigning.privateKeyFile,
    allowedOrigins: webOrigins,
    credentials: keys.credentials,
  });
  running.cognito = cognito;
  void cognito.exited.then(({ code, signal }) => {
    if (stopping) return;
    log.error(
      `cognito-local exited unexpectedly (code ${code}, signal ${signal}); stopping the local cloud. Its last output:\n${cognito.recentOutput()}`,
    );
    void stop(1);
  });

  const [tableEnvironment, ids] = await Promise.all([
    ensureTables(dynamo.endpoint, tables, keys.credentials),
    readState(home).then((state) => ensureUserPool(cognito.endpoint, keys.credentials, state)),
  ]);
  await writeState(home, ids);
  if (stopping) return;
  const workflows = await startWorkflows(home, LOCAL_REGION, keys.credentials);
  running.workflows = workflows;

  // Before any handler module loads: they read their environment, once, as they load.
  Object.assign(process.env, {
    CLOUDSEED_MODE: 'local',
    CLOUDSEED_HOME: home,
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: keys.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    USER_POOL_ID: ids.userPoolId,
    USER_POOL_CLIENT_ID: ids.userPoolClientId,
    COGNITO_ISSUER: `${cognito.endpoint}/${ids.userPoolId}`,
    ...tableEnvironment,
    ...workflowEnvironment(workflows),
  });
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) delete process.env[name];

  const preSignUp = await import('@cloudseed/functions/auth/pre-sign-up');
  lambda.register(PRE_SIGN_UP_FUNCTION, preSignUp.handler);
  running.instances = await startInstances(home);
  const routes = await loadRoutes(await routeTable());
  const config: PublicConfig = {
    mode: 'local',
    region: LOCAL_REGION,
    userPoolId: ids.userPoolId,
    userPoolClientId: ids.userPoolClientId,
    cognitoEndpoint: cognito.endpoint,
    apiBase,
    postgresVersions: (await installedMajors(DEFAULT_POSTGRES_ROOT)).map(String),
  };
  if (stopping) return;
  const web = await webApp(WEB_BUILD_DIR, cognito.endpoint);
  if (!web.built) log.warn(`the web app is not built (${WEB_BUILD_DIR}): run \`npm run build\`; the API works without it`);
  adapter.serve({ routes, config, docs: await docsAssets(), web });
  process.stdout.write(`CloudSeed local cloud ready at ${apiBase}\n`);
}

/** Stops what is running, the front door first, and exits with `code`. */
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    log.error(`stopping took longer than ${STOP_TIMEOUT_MS} ms; exiting anyway`);
    process.exit(code === 0 ? 1 : code);
  }, STOP_TIMEOUT_MS).unref();
  // A signal during start-up: let the step in progress finish so what it started gets stopped too.
  await Promise.race([startup.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, STARTUP_WAIT_ON_STOP_MS).unref())]);
  const { adapter, cognito, lambda, dynamo, workflows, instances } = running;
  const steps: [string, (() => Promise<void>) | undefined][] = [
    ['the HTTP adapter', adapter && (() => adapter.close())],
    ['the workflows', workflows && (() => workflows.close())],
    ['the PostgreSQL servers', instances && (() => instances.stop())],
    // After the servers: they archive their last WAL segments to it as they shut down.
    ['S3', workflows && (() => workflows.s3.close())],
    ['cognito-local', cognito && (() => cognito.stop())],
    ['the Lambda endpoint', lambda && (() => lambda.close())],
    ['dynalite', dynamo && (() => dynamo.close())],
  ];
  for (const [name, close] of steps) {
    try {
      await close?.();
    } catch (error) {
      log.error(`could not stop ${name}`, error);
    }
  }
  process.exit(code);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number from 0 to 65535, not ${JSON.stringify(value)}`);
  return port;
}

function describeListenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return 'the address is already in use (another local cloud? set PORT, or PORT=0 for a free one)';
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL') return 'no such address on this machine (check HOST)';
  return error instanceof Error ? error.message : String(error);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop(0));
// Started with an IPC channel (the tests do): stop when the parent goes, even if it was killed
// outright, as test runners do to their workers.
if (process.channel !== undefined) process.once('disconnect', () => void stop(0));
process.on('uncaughtException', (error) => {
  log.crash('uncaught exception', error);
  void stop(1);
});
process.on('unhandledRejection', (reason) => {
  log.crash('unhandled promise rejection', reason);
  void stop(1);
});

const startup = start();
startup.catch((error: unknown) => {
  if (stopping) return;
  log.error('cannot start', error);
  void stop(1);
});
