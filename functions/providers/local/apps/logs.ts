import { appendFileSync, statSync } from 'node:fs';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogLine, LogSource } from '../../app-provider.ts';

// An app's logs on the local cloud: one file per source (build, release, run), each line stamped
// with the time it was written. A file that grows past a limit keeps its newest half.

const MAX_BYTES = 4 * 1024 * 1024;
const TAIL_BYTES = 512 * 1024;
const SOURCES: readonly LogSource[] = ['build', 'release', 'run'];

export class AppLogs {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  file(source: LogSource): string {
    return join(this.#dir, `${source}.log`);
  }

  /** Appends synchronously, so lines of one source keep their order however fast they come. */
  write(source: LogSource, text: string): void {
    const stamp = new Date().toISOString();
    const lines = text
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .map((line) => `${stamp} ${line}\n`)
      .join('');
    try {
      appendFileSync(this.file(source), lines, { mode: 0o600 });
      if (statSync(this.file(source)).size > MAX_BYTES) void this.#shrink(source);
    } catch {
      // The app's directory is gone (torn down while it still printed): nothing to keep.
    }
  }

  /** The newest `tail` lines of every source, oldest first. */
  async tail(tail: number): Promise<LogLine[]> {
    const all = (await Promise.all(SOURCES.map(async (source) => (await this.#lastLines(source, tail)).map((line) => parse(source, line))))).flat();
    return all
      .filter((line): line is LogLine => line !== undefined)
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
      .slice(-tail);
  }

  /** The newest lines of one source as text (for a failure's reason). */
  async recent(source: LogSource, lines: number): Promise<string> {
    return (await this.#lastLines(source, lines)).map((line) => line.slice(line.indexOf(' ') + 1)).join(' | ');
  }

  async #lastLines(source: LogSource, count: number): Promise<string[]> {
    let handle;
    try {
      handle = await open(this.file(source), 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - TAIL_BYTES);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const lines = buffer
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '');
      if (start > 0) lines.shift();
      return lines.slice(-count);
    } finally {
      await handle.close();
    }
  }

  async #shrink(source: LogSource): Promise<void> {
    const text = await readFile(this.file(source), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const kept = text.slice(text.indexOf('\n', text.length / 2) + 1);
    await truncate(this.file(source), 0).catch(() => undefined);
    await writeFile(this.file(source), kept, { flag: 'a', mode: 0o600 }).catch(() => undefined);
  }
}

function parse(source: LogSource, line: string): LogLine | undefined {
  const space = line.indexOf(' ');
  if (space <= 0) return undefined;
  return { time: line.slice(0, space), source, text: line.slice(space + 1) };
}
