// One operation at a time per key (a node's directory, the port table) within this process: the
// local cloud runs workflows and its own start/stop hooks concurrently, and two pg_ctl calls on
// one data directory, or two launches picking ports, must not interleave.

const tails = new Map<string, Promise<unknown>>();

export async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const current = previous.then(() => work());
  const tail = current.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await current;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}
