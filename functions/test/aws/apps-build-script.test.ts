import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The build script CodeBuild runs (shared/src/targets/sh/app-build.sh), against a real git repository here: git
// runs on this machine, so only `aws` and `docker` are stand-ins, which record what they are asked.

const SCRIPT = fileURLToPath(new URL('../../../shared/src/targets/sh/app-build.sh', import.meta.url));
const IMAGE_REPO = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/cloudseed/p-1/web';
const GENERATED = Buffer.from('FROM public.ecr.aws/docker/library/node:24-bookworm-slim\nCMD ["sh","-c","node server.js"]\n').toString('base64');

let root: string;
let repo: string;
let bin: string;
const commits: Record<string, string> = {};

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'CloudSeed Test',
  GIT_AUTHOR_EMAIL: 'test@cloudseed.invalid',
  GIT_COMMITTER_NAME: 'CloudSeed Test',
  GIT_COMMITTER_EMAIL: 'test@cloudseed.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: gitEnv, encoding: 'utf8' }).trim();
}

function commit(files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'cloudseed-app-build-'));
  repo = join(root, 'repo');
  mkdirSync(repo);
  git('init', '-q', '-b', 'main');
  commits.first = commit({ 'services/api/package.json': '{"name":"api"}\n' }, 'first');
  commits.second = commit({ 'services/api/server.js': 'console.log("hi")\n', 'services/py/requirements.txt': 'flask\n' }, 'second');
  git('checkout', '-q', '-b', 'other');
  commits.other = commit({ 'services/api/other.js': '1\n' }, 'other');
  git('checkout', '-q', '-b', 'docker', commits.second);
  commits.docker = commit({ 'services/api/Dockerfile': 'FROM scratch\n' }, 'dockerfile');
  git('checkout', '-q', 'main');

  // `aws ecr describe-images` finds the image when $root/image-exists exists; everything is recorded in $root/calls.
  bin = join(root, 'bin');
  mkdirSync(bin);
  const calls = join(root, 'calls');
  writeFileSync(
    join(bin, 'aws'),
    `#!/usr/bin/env bash\necho "aws $*" >> '${calls}'\nif [[ "$2" == describe-images ]]; then [[ -e '${join(root, 'image-exists')}' ]]; exit; fi\nif [[ "$2" == get-login-password ]]; then echo token; fi\n`,
  );
  writeFileSync(join(bin, 'docker'), `#!/usr/bin/env bash\ncat > /dev/null <&0 &\necho "docker $*" >> '${calls}'\n`);
  chmodSync(join(bin, 'aws'), 0o755);
  chmodSync(join(bin, 'docker'), 0o755);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Run {
  readonly status: number | null;
  readonly output: string;
  readonly state: Record<string, string>;
  readonly calls: string[];
}

function run(stage: string, variables: Record<string, string> = {}): Run {
  const state = join(root, 'state.env');
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: root,
    CLOUDSEED_STATE: state,
    CLOUDSEED_SOURCE_DIR: join(root, 'source'),
    CLOUDSEED_REPO_URL: `file://${repo}`,
    CLOUDSEED_BRANCH: 'main',
    CLOUDSEED_COMMIT_WANTED: '',
    CLOUDSEED_ROOT_DIR: 'services/api',
    CLOUDSEED_IMAGE_REPO: IMAGE_REPO,
    CLOUDSEED_DOCKERFILE_B64: GENERATED,
    AWS_REGION: 'eu-central-1',
    ...variables,
  };
  const result = spawnSync('bash', [SCRIPT, stage], { env, encoding: 'utf8' });
  const values = existsSync(state)
    ? Object.fromEntries(
        execFileSync('bash', ['-c', `set -a; . '${state}'; env | grep '^CLOUDSEED_' || true`], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      )
    : {};
  const callsFile = join(root, 'calls');
  const calls = existsSync(callsFile) ? readFileSync(callsFile, 'utf8').trim().split('\n') : [];
  rmSync(callsFile, { force: true });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, state: values, calls };
}

const digest = (recipe: string) => createHash('sha256').update(recipe).digest('hex').slice(0, 12);

describe('the app build script', () => {
  it('checks out the branch’s newest commit, writes the generated Dockerfile where the repository has none, and tags the image with the commit', () => {
    const result = run('fetch');

    expect(result.status, result.output).toBe(0);
    expect(result.state).toMatchObject({
      CLOUDSEED_COMMIT: commits.second,
      CLOUDSEED_IMAGE_TAG: `${commits.second}-${digest(GENERATED)}`,
      CLOUDSEED_DOCKERFILE: 'generated',
      CLOUDSEED_RUNTIME: 'node',
    });
    expect(readFileSync(join(root, 'source/services/api/Dockerfile'), 'utf8')).toBe(Buffer.from(GENERATED, 'base64').toString('utf8'));
    expect(result.output).toContain('CloudSeed wrote this one from the plan');
  });

  it('builds the plan’s commit, given short, when it is on the branch, and refuses one that is not', () => {
    const pinned = run('fetch', { CLOUDSEED_COMMIT_WANTED: commits.first!.slice(0, 7) });
    expect(pinned.status, pinned.output).toBe(0);
    expect(pinned.state.CLOUDSEED_COMMIT).toBe(commits.first);

    const elsewhere = run('fetch', { CLOUDSEED_COMMIT_WANTED: commits.other!.slice(0, 10) });
    expect(elsewhere.status).not.toBe(0);
    expect(elsewhere.output).toContain(`cloudseed: error: commit ${commits.other!.slice(0, 10)} is not on branch main`);
  });

  it('uses the repository’s own Dockerfile, and says what to do when there is none and the plan wrote none', () => {
    const own = run('fetch', { CLOUDSEED_BRANCH: 'docker' });
    expect(own.status, own.output).toBe(0);
    expect(own.state).toMatchObject({ CLOUDSEED_DOCKERFILE: 'repository', CLOUDSEED_IMAGE_TAG: `${commits.docker}-${digest('repository')}` });
    expect(readFileSync(join(root, 'source/services/api/Dockerfile'), 'utf8')).toBe('FROM scratch\n');

    const none = run('fetch', { CLOUDSEED_DOCKERFILE_B64: '', CLOUDSEED_ROOT_DIR: 'services/py' });
    expect(none.status).not.toBe(0);
    expect(none.output).toContain(
      'cloudseed: error: the repository has no Dockerfile in services/py; on AWS give the app build.runtime and run.startCommand (CloudSeed then writes the Dockerfile) or add a Dockerfile',
    );

    const missing = run('fetch', { CLOUDSEED_BRANCH: 'nope' });
    expect(missing.status).not.toBe(0);
    expect(missing.output).toContain('cloudseed: error: cannot clone branch nope');
  });

  it('builds and pushes an image the repository does not have yet, and neither builds nor pushes one it has', () => {
    expect(run('fetch').status).toBe(0);
    const tag = `${commits.second}-${digest(GENERATED)}`;

    const built = run('image');
    expect(built.status, built.output).toBe(0);
    // The login's two sides run at once, as a pipe's do.
    expect(built.calls.slice(0, 2).sort()).toEqual([
      'aws ecr get-login-password --region eu-central-1',
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-central-1.amazonaws.com',
    ]);
    expect(built.calls.slice(2)).toEqual([
      `aws ecr describe-images --region eu-central-1 --repository-name cloudseed/p-1/web --image-ids imageTag=${tag}`,
      `docker build --pull --tag ${IMAGE_REPO}:${tag} .`,
    ]);
    expect(run('push').calls).toEqual([`docker push --quiet ${IMAGE_REPO}:${tag}`]);

    writeFileSync(join(root, 'image-exists'), '');
    expect(run('fetch').status).toBe(0);
    const again = run('image');
    expect(again.output).toContain(`image ${tag} exists already: not built again`);
    expect(again.calls.filter((call) => call.startsWith('docker build'))).toEqual([]);
    expect(run('push').calls).toEqual([]);
    rmSync(join(root, 'image-exists'));
  });
});
