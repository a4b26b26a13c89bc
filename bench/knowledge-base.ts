import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { renderAwsJson, tune, validatePlan } from '@cloudseed/shared';
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

/** The knowledge base's hot paths (validation, tuning, rendering) and the CLI's start-up time. */
export function knowledgeBaseBench() {
  const validated = validatePlan(plan);
  if (!validated.ok) throw new Error('benchmark plan is invalid');
  const measurements = [
    measure('validatePlan (cs-json, 1 component)', () => validatePlan(plan)),
    measure('tune (pgtune, 16GB, 4 CPUs)', () => tune({ pgMajor: 16, memoryKb: 16 * 1024 * 1024, cpus: 4, workload: 'web', storage: 'ssd' })),
    measure('renderAwsJson (3-node cluster)', () => renderAwsJson(validated.plan, { planId: 'bench' })),
  ];
  const cliRuns = Array.from({ length: 7 }, () => {
    const started = performance.now();
    const result = spawnSync('npx', ['--no-install', 'cloudseed', 'tune', '--pg', '16', '--memory', '16GB'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cloudseed tune failed: ${result.stderr}`);
    return performance.now() - started;
  });
  return { measurements, cliTuneMedianMs: round(median(cliRuns)) };
}
