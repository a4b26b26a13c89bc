import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { machineCatalogs, postgresComponents, renderAwsJson, renderAzureJson, renderGcpJson, tune, validatePlan } from '@cloudseed/shared';
import { measure, median, round } from './harness.ts';

const plan = {
  apiVersion: 'cs/v1',
  name: 'orders',
  target: { cloud: 'aws', region: 'us-east-1' },
  components: [
    {
      id: 'db',
      type: 'postgres',
      hardware: { storage: { sizeGiB: 100 }, aws: { instanceType: 'm7g.xlarge' } },
      db: { version: '16', maxConnections: 200, topology: { mode: 'cluster', replicas: 2 } },
      network: { allowedCidrs: ['203.0.113.0/24', '2001:db8::/48'] },
    },
  ],
};

/** The same cluster on Google Cloud and on Azure (Debian 12: Amazon Linux is AWS's own). */
const elsewhere = (target: Record<string, string>) => {
  const [component] = plan.components;
  return { ...plan, target, components: [{ ...component, os: { name: 'debian', version: '12' } }] };
};

function validated(input: unknown) {
  const result = validatePlan(input);
  if (!result.ok) throw new Error(`benchmark plan is invalid: ${JSON.stringify(result.errors)}`);
  return result.plan;
}

/** The knowledge base's hot paths (validation, tuning, rendering on each cloud, pricing) and the CLI's start-up time. */
export function knowledgeBaseBench() {
  const onAws = validated(plan);
  const onGcp = validated(elsewhere({ cloud: 'gcp', project: 'acme-prod-123', region: 'us-central1' }));
  const onAzure = validated(
    elsewhere({ cloud: 'azure', subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'prod', region: 'eastus' }),
  );
  const [component] = postgresComponents(onAws);
  if (!component) throw new Error('benchmark plan has no database');
  const measurements = [
    measure('validatePlan (cs-json, 1 component)', () => validatePlan(plan)),
    measure('tune (pgtune, 16GB, 4 CPUs)', () => tune({ pgMajor: 16, memoryKb: 16 * 1024 * 1024, cpus: 4, workload: 'web', storage: 'ssd' })),
    measure('renderAwsJson (3-node cluster)', () => renderAwsJson(onAws, { planId: 'bench' })),
    measure('renderGcpJson (3-node cluster)', () => renderGcpJson(onGcp, { planId: 'bench' })),
    measure('renderAzureJson (3-node cluster)', () => renderAzureJson(onAzure, { planId: 'bench' })),
    // What the editor does on every change: the component priced on each cloud's catalog.
    measure('price on AWS, Google Cloud and Azure', () => Object.values(machineCatalogs).map((catalog) => catalog.cost(component))),
  ];
  const cliRuns = Array.from({ length: 7 }, () => {
    const started = performance.now();
    const result = spawnSync('npx', ['--no-install', 'cloudseed', 'tune', '--pg', '16', '--memory', '16GB'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cloudseed tune failed: ${result.stderr}`);
    return performance.now() - started;
  });
  return { measurements, cliTuneMedianMs: round(median(cliRuns)) };
}
