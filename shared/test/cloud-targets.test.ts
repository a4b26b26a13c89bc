import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validatePlan } from '../src/index.ts';
import type { FieldProblem, Plan } from '../src/index.ts';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, runCli } from '../src/cli/run.ts';
import { catalogFor, machineCatalogs, withMachineHint } from '../src/targets/catalogs.ts';
import { SCRIPT_FOLDER } from '../src/targets/node-scripts.ts';
import { renderDeploymentDocument } from '../src/targets/render.ts';

// Plans for Google Cloud and Azure: their targets, the per-cloud size hints checked against each
// catalog, the OS each cloud offers, and the CLI rendering each cloud's document.

const GCP = { cloud: 'gcp', project: 'acme-prod-123', region: 'europe-west4' } as const;
const AZURE = {
  cloud: 'azure',
  subscriptionId: '00000000-0000-4000-8000-000000000001',
  resourceGroup: 'cloudseed-prod',
  region: 'westeurope',
} as const;

function plan(target: unknown, component: Record<string, unknown> = {}) {
  return { apiVersion: 'cs/v1', name: 'orders', target, components: [{ id: 'db', type: 'postgres', ...component }] };
}

function valid(input: unknown): Plan {
  const result = validatePlan(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.plan;
}

function problems(input: unknown): FieldProblem[] {
  const result = validatePlan(input);
  if (result.ok) throw new Error('expected the plan to be refused');
  return result.errors;
}

describe('a Google Cloud target', () => {
  it("names its project and region, and its zone defaults to the region's first", () => {
    expect(valid(plan(GCP)).target).toEqual({ cloud: 'gcp', project: 'acme-prod-123', region: 'europe-west4', zone: 'europe-west4-a' });
    expect(valid(plan({ cloud: 'gcp', project: 'acme-prod-123' })).target).toMatchObject({ region: 'us-central1', zone: 'us-central1-a' });
    expect(valid(plan({ ...GCP, zone: 'europe-west4-c' })).target).toMatchObject({ zone: 'europe-west4-c' });
  });

  it('refuses a missing or malformed project and a zone of another region, each at its path', () => {
    expect(problems(plan({ cloud: 'gcp' })).map((problem) => problem.path)).toContain('/target/project');
    expect(problems(plan({ ...GCP, project: 'Acme_Prod' }))).toContainEqual({
      path: '/target/project',
      message: expect.stringMatching(/Google Cloud project id/) as unknown,
    });
    expect(problems(plan({ ...GCP, zone: 'us-central1-a' }))).toContainEqual({
      path: '/target/zone',
      message: 'must be a zone of europe-west4, such as europe-west4-a',
    });
    expect(problems(plan({ ...GCP, region: 'eu-west-1' })).map((problem) => problem.path)).toContain('/target/region');
  });
});

describe('an Azure target', () => {
  it('names its subscription, resource group and region', () => {
    expect(valid(plan(AZURE)).target).toEqual(AZURE);
    expect(valid(plan({ ...AZURE, region: undefined })).target).toMatchObject({ region: 'eastus' });
  });

  it('refuses a subscription that is not a GUID and a resource group ending in a dot', () => {
    const paths = problems(plan({ ...AZURE, subscriptionId: 'my-subscription', resourceGroup: 'prod.' })).map((problem) => problem.path);
    expect(paths).toEqual(expect.arrayContaining(['/target/subscriptionId', '/target/resourceGroup']));
    expect(problems(plan({ cloud: 'azure', region: 'eastus' })).map((problem) => problem.path)).toEqual(
      expect.arrayContaining(['/target/subscriptionId', '/target/resourceGroup']),
    );
  });
});

describe('the OS on another cloud', () => {
  it('defaults to Debian 12 where Amazon Linux is not offered, and refuses Amazon Linux named outright', () => {
    expect(valid(plan(GCP)).components[0]).toMatchObject({ os: { name: 'debian', version: '12' } });
    expect(valid(plan(AZURE)).components[0]).toMatchObject({ os: { name: 'debian', version: '12' } });
    expect(valid(plan({ cloud: 'local' })).components[0]).toMatchObject({ os: { name: 'amazon-linux' } });
    expect(problems(plan(GCP, { os: { name: 'amazon-linux', version: '2023' } }))).toEqual([
      { path: '/components/0/os/name', message: 'Amazon Linux runs on AWS only; choose debian or ubuntu on Google Cloud' },
    ]);
    expect(valid(plan(AZURE, { os: { name: 'ubuntu', version: '24.04' } })).components[0]).toMatchObject({ os: { name: 'ubuntu' } });
  });
});

describe('size hints', () => {
  it("size the component on the plan's own cloud and are only checked on the others", () => {
    const hints = { gcp: { machineType: 'n2-highmem-4' }, azure: { vmSize: 'Standard_D2s_v5' }, aws: { instanceType: 't3.large' } };
    const onGcp = valid(plan(GCP, { hardware: hints })).components[0];
    expect(onGcp).toMatchObject({ hardware: { cpus: 4, memoryGiB: 32 } });
    const onAzure = valid(plan(AZURE, { hardware: hints })).components[0];
    expect(onAzure).toMatchObject({ hardware: { cpus: 2, memoryGiB: 8 } });
    // The local cloud sizes by the AWS hint, as it always has.
    expect(valid(plan({ cloud: 'local' }, { hardware: hints })).components[0]).toMatchObject({ hardware: { cpus: 2, memoryGiB: 8 } });
  });

  it('must name a size in their cloud catalog, and agree with cpus and memory on the own cloud', () => {
    expect(problems(plan({ cloud: 'local' }, { hardware: { gcp: { machineType: 'e2-mega-9' }, azure: { vmSize: 'Standard_Z9' } } }))).toEqual([
      { path: '/components/0/hardware/gcp/machineType', message: 'e2-mega-9 is not in the Compute Engine machine type catalog' },
      { path: '/components/0/hardware/azure/vmSize', message: 'Standard_Z9 is not in the Azure VM size catalog' },
    ]);
    expect(problems(plan(GCP, { hardware: { cpus: 8, gcp: { machineType: 'e2-standard-2' } } }))).toEqual([
      { path: '/components/0/hardware/cpus', message: 'e2-standard-2 has 2 vCPUs; leave cpus out or make it 2' },
    ]);
    expect(problems(plan(AZURE, { hardware: { azure: { vmSize: 'standard_d2s_v5' } } })).length).toBeGreaterThan(0);
  });

  it('without a hint, the cheapest size of the cloud that fits is chosen, and a size none has is refused', () => {
    const component = valid(plan(GCP, { hardware: { cpus: 2, memoryGiB: 4 } })).components[0];
    if (component?.type !== 'postgres') throw new Error('expected a database');
    expect(machineCatalogs.gcp.machineFor(component).name).toBe(machineCatalogs.gcp.cheapestFit({ cpus: 2, memoryGiB: 4 })?.name);
    expect(problems(plan(AZURE, { hardware: { cpus: 192, memoryGiB: 1536 } }))).toContainEqual({
      path: '/components/0/hardware',
      message: 'no Azure VM size in the catalog has 192 vCPUs and 1536 GiB',
    });
  });

  it('offers only encrypted network SSD in a cloud', () => {
    expect(problems(plan(GCP, { hardware: { storage: { type: 'hdd' } } }))).toEqual([
      { path: '/components/0/hardware/storage/type', message: 'only "ssd" (encrypted network SSD) is offered on Google Cloud' },
    ]);
  });

  it('are set and cleared per cloud without touching the other clouds', () => {
    const hardware = { cpus: 2, aws: { instanceType: 't3.medium', ami: 'ami-0123456789abcdef0' } };
    expect(withMachineHint(hardware, 'gcp', 'e2-medium')).toEqual({ ...hardware, gcp: { machineType: 'e2-medium' } });
    expect(withMachineHint(hardware, 'aws', undefined)).toEqual({ cpus: 2, aws: { ami: 'ami-0123456789abcdef0' } });
    expect(withMachineHint({ cpus: 2, azure: { vmSize: 'Standard_B2s' } }, 'azure', undefined)).toEqual({ cpus: 2 });
  });

  it("price a component on each cloud's catalog; the local cloud prices as AWS", () => {
    const component = valid(plan({ cloud: 'local' }, { hardware: { cpus: 4, memoryGiB: 16 } })).components[0];
    if (component?.type !== 'postgres') throw new Error('expected a database');
    expect(catalogFor('local')).toBe(machineCatalogs.aws);
    for (const catalog of Object.values(machineCatalogs)) {
      const cost = catalog.cost(component);
      expect(cost.totalUsd).toBeGreaterThan(0);
      expect(cost.totalUsd).toBeCloseTo(cost.instanceUsd + cost.storageUsd + (cost.loadBalancerUsd ?? 0), 2);
      expect(catalog.machineFor(component).vcpus).toBeGreaterThanOrEqual(4);
    }
  });
});

describe('cloudseed render for another cloud', () => {
  const files: Record<string, string> = {
    'plan.json': JSON.stringify(plan({ cloud: 'local' }, { os: { name: 'debian', version: '12' }, network: { allowedCidrs: ['203.0.113.0/24'] } })),
    'gcp.json': JSON.stringify(plan({ ...GCP, zone: 'europe-west4-b' })),
    'amazon.json': JSON.stringify(plan({ cloud: 'local' }, { os: { name: 'amazon-linux', version: '2023' } })),
  };

  async function cli(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      readFile: (path) => (path in files ? Promise.resolve(files[path]!) : Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' }))),
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  it('prints gcp-json for --target gcp with a project, and for a plan that targets GCP itself', async () => {
    const given = await cli('render', 'plan.json', '--target', 'gcp', '--project', 'acme-prod-123', '--region', 'us-east1');
    expect(given.code).toBe(EXIT_OK);
    expect(JSON.parse(given.stdout)).toMatchObject({ apiVersion: 'cs-gcp/v1', project: 'acme-prod-123', region: 'us-east1', zone: 'us-east1-a' });
    const own = await cli('render', 'gcp.json');
    expect(JSON.parse(own.stdout)).toMatchObject({ apiVersion: 'cs-gcp/v1', zone: 'europe-west4-b' });
    // --target gcp keeps the plan's own project and zone unless a new region is given.
    expect(JSON.parse((await cli('render', 'gcp.json', '--target', 'gcp')).stdout)).toMatchObject({ zone: 'europe-west4-b' });
    expect(JSON.parse((await cli('render', 'gcp.json', '--target', 'gcp', '--region', 'us-east4')).stdout)).toMatchObject({ zone: 'us-east4-a' });
  });

  it('prints azure-json for --target azure with a subscription and resource group', async () => {
    const { code, stdout } = await cli(
      'render',
      'plan.json',
      '--target',
      'azure',
      '--subscription',
      AZURE.subscriptionId,
      '--resource-group',
      'rg-1',
      '--plan-id',
      'orders-1',
    );
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout)).toMatchObject({ apiVersion: 'cs-azure/v1', planId: 'orders-1', resourceGroup: 'rg-1', region: 'eastus' });
  });

  it('answers a usage error for what a cloud cannot do without, and exit 1 for what its plan cannot have', async () => {
    expect(await cli('render', 'plan.json', '--target', 'gcp')).toMatchObject({
      code: EXIT_USAGE,
      stderr: expect.stringContaining('--target gcp needs --project') as unknown,
    });
    expect(await cli('render', 'plan.json', '--target', 'azure', '--subscription', AZURE.subscriptionId)).toMatchObject({
      code: EXIT_USAGE,
      stderr: expect.stringContaining('--target azure needs --subscription and --resource-group') as unknown,
    });
    expect(await cli('render', 'plan.json', '--target', 'oracle')).toMatchObject({
      code: EXIT_USAGE,
      stderr: expect.stringContaining('--target must be one of') as unknown,
    });
    const refused = await cli('render', 'amazon.json', '--target', 'gcp', '--project', 'acme-prod-123');
    expect(refused.code).toBe(EXIT_INVALID);
    expect(refused.stderr).toContain('/components/0/os/name: Amazon Linux runs on AWS only');
  });
});

describe('the node scripts on Google Cloud and Azure', () => {
  const cluster = {
    os: { name: 'debian', version: '12' },
    db: { topology: { mode: 'cluster', replicas: 2 } },
    network: { allowedCidrs: ['203.0.113.0/24'] },
  };
  const documents = {
    gcp: renderDeploymentDocument(valid(plan(GCP, cluster)), { planId: 'p-1' }),
    azure: renderDeploymentDocument(valid(plan(AZURE, cluster)), { planId: 'p-1' }),
  };
  const scriptsOf = (cloud: 'gcp' | 'azure') => {
    const [component] = (documents[cloud] as unknown as { components: { scripts: { install: string; configure: string } }[] }).components;
    if (!component) throw new Error('no component');
    return component.scripts;
  };
  const files = (name: string) => readFileSync(new URL(name, SCRIPT_FOLDER), 'utf8');

  it.each(['gcp', 'azure'] as const)('are the same install.sh and configure.sh as on AWS, behind the %s prelude, and shellcheck-clean', (cloud) => {
    const { install, configure } = scriptsOf(cloud);
    expect(install.endsWith(`\n${files(`prelude-${cloud}.sh`)}\n${files('data-disk.sh')}\n${files('install.sh')}`)).toBe(true);
    expect(configure.endsWith(`\n${files(`prelude-${cloud}.sh`)}\n${files('data-disk.sh')}\n${files('patroni.sh')}\n${files('configure.sh')}`)).toBe(
      true,
    );
    for (const [name, script] of Object.entries({ install, configure })) {
      const lint = spawnSync('shellcheck', ['-s', 'bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
      expect(lint.stdout, `${cloud} ${name}`).toBe('');
      expect(lint.status, `${cloud} ${name}`).toBe(0);
    }
  });

  it.each(['gcp', 'azure'] as const)('on %s call no AWS service and archive to the cloud’s own object store', (cloud) => {
    const { install, configure } = scriptsOf(cloud);
    for (const script of [install, configure]) {
      expect(script).not.toMatch(/\baws (ssm|s3)\b/);
      expect(script).not.toContain('X-aws-ec2-metadata-token');
    }
    expect(configure).toContain(cloud === 'gcp' ? '\nrepo1-type=gcs\n' : '\nrepo1-type=azure\n');
    expect(configure).toContain(cloud === 'gcp' ? 'repo1-gcs-key-type=auto' : 'repo1-azure-key-type=auto');
  });

  it("add the PostgreSQL project's repository on Azure even for the distribution's own major: pgBackRest signs with a managed identity from 2.58", () => {
    const distributionMajor = { os: { name: 'debian', version: '12' }, db: { version: '15' } };
    const installOn = (target: unknown) =>
      (
        renderDeploymentDocument(valid(plan(target, distributionMajor)), { planId: 'p-1' }) as unknown as {
          components: { scripts: { install: string } }[];
        }
      ).components[0]!.scripts.install;

    expect(installOn(AZURE)).toContain("\nPGDG='yes'\n");
    expect(installOn(GCP)).toContain("\nPGDG=''\n");
  });

  it('name every secret the scripts read as the cloud stores it', () => {
    const { configure } = scriptsOf('gcp');
    const gcp = documents.gcp as unknown as {
      certificateAuthoritySecret: { secretId: string };
      components: Record<string, { secretId: string } | undefined>[];
    };
    const component = gcp.components[0]!;
    const ids = [gcp.certificateAuthoritySecret, component.secret, component.archiveCipherSecret, component.replicationSecret].map(
      (secret) => secret?.secretId,
    );
    for (const path of configure.match(/^[A-Z_]*PARAMETER='([^']+)'$/gm) ?? []) {
      const secret = /='([^']+)'/.exec(path)![1]!;
      if (/REST_PASSWORD|REWIND_PASSWORD/.test(path)) continue;
      expect(ids, path).toContain(secret.slice(1).replaceAll('/', '-'));
    }
    const azure = documents.azure as unknown as { components: { keyVault: { secretNames: string[] } }[] };
    expect(azure.components[0]!.keyVault.secretNames).toEqual([
      'cloudseed-p-1-db-password',
      'cloudseed-p-1-certificate-authority',
      'cloudseed-p-1-db-archive-cipher-pass',
      'cloudseed-p-1-db-replication-password',
      'cloudseed-p-1-db-patroni-password',
      'cloudseed-p-1-db-rewind-password',
    ]);
  });
});
