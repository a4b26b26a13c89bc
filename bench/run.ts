import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { knowledgeBaseBench } from './knowledge-base.ts';

// `npm run bench`: measures CloudSeed on this machine and writes the figures to
// bench/results/latest.json (and prints them). Benchmarks, not tests: nothing here passes or fails.

const knowledgeBase = knowledgeBaseBench();
const results = {
  measuredAt: new Date().toISOString(),
  machine: { platform: platform(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  knowledgeBase,
};

mkdirSync(new URL('results/', import.meta.url), { recursive: true });
writeFileSync(new URL('results/latest.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);

console.log('Knowledge base');
console.table(knowledgeBase.measurements.map((m) => ({ case: m.name, 'ops/s': m.opsPerSecond, 'p50 µs': m.p50Micros, 'p99 µs': m.p99Micros })));
console.log(`cloudseed tune via npx, median of 7 cold starts: ${knowledgeBase.cliTuneMedianMs} ms`);
console.log('Written to bench/results/latest.json');
