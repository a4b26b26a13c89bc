#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { runCli } from './run.ts';

const readInput = (path: string): Promise<string> => (path === '-' ? readStdin() : readFile(path, 'utf8'));

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

process.exitCode = await runCli(process.argv.slice(2), {
  readFile: readInput,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
