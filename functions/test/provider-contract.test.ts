import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LocalProvider } from '../providers/local/index.ts';
import { mockAws, provider as awsProvider, target as awsTarget } from './support/aws.ts';
import { fakeAccount } from './support/fake-account.ts';
import { localTarget } from './support/local-targets.ts';
import { describeProvider } from './support/provider-contract.ts';

// The same idempotency and teardown cases against each provider: the local one on this machine's
// file system (nothing it does here starts a server), the AWS one against an in-memory account
// behind the mocked SDK.

let home: string;
let plans = 0;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cs-contract-'));
});

afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

/** Every file the local cloud keeps for a plan: its instances and its secrets. */
async function localFiles(planId: string): Promise<string[]> {
  const roots = [join(home, 'instances', planId), join(home, 'secrets', planId)];
  const lists = await Promise.all(roots.map((root) => readdir(root, { recursive: true }).catch(() => [])));
  return lists.flatMap((names, index) => names.map((name) => relative(home, join(roots[index]!, name)))).sort();
}

describeProvider('local', () => {
  plans += 1;
  const planId = `contract-${plans}`;
  return Promise.resolve({ provider: new LocalProvider({ home }), target: localTarget(planId), leftovers: () => localFiles(planId) });
});

mockAws();

describeProvider('AWS', () => {
  const account = fakeAccount();
  return Promise.resolve({ provider: awsProvider(), target: awsTarget(), leftovers: () => Promise.resolve(account.resources()) });
});
