#!/usr/bin/env bash
# The static checks `npm test` runs before the tests, two at a time on two cores: the linters on
# one, the type checks and then the web build (which the browser tests serve) on the other. Each
# one's output is printed whole when both are done; the first failure fails the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

npm run lint >"$logs/lint" 2>&1 &
lint=$!
{ npm run typecheck && npm run build; } >"$logs/types" 2>&1 &
types=$!

wait "$lint"
lint_status=$?
wait "$types"
types_status=$?
cat "$logs/lint" "$logs/types"
if [ "$lint_status" -ne 0 ] || [ "$types_status" -ne 0 ]; then
  echo "checks failed: lint exited $lint_status, typecheck and build $types_status" >&2
  exit 1
fi
