import { format, resolveConfig } from 'prettier';

// A rendered deployment document as its golden file holds it: formatted as the repository formats
// JSON, with each node script cut to its header. The header holds everything the plan decides (the
// values assigned); the prelude and the .sh files after it are the same for every plan, are
// shellchecked and run by their own tests, and would make every golden file change with them.

const PRELUDE_START = '\n# shellcheck shell=bash\n';

export async function goldenJson(document: unknown, besidePath: URL): Promise<string> {
  const text = JSON.stringify(
    document,
    (_key, value: unknown) => {
      if (typeof value !== 'string' || !value.startsWith('#!/usr/bin/env bash\n')) return value;
      const end = value.indexOf(PRELUDE_START);
      return end < 0 ? value : `${value.slice(0, end)}\n# … then files of shared/src/targets/sh, verbatim`;
    },
    2,
  );
  return format(text, { ...(await resolveConfig(besidePath.pathname)), parser: 'json' });
}
