#!/usr/bin/env bash
# Installs what CloudSeed needs on a fresh Debian or Ubuntu machine (system packages only when
# they are missing), then the npm dependencies from the lockfile, then builds the web app.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# Continuous WAL archiving, backups and point-in-time restores of the local cloud's servers.
command -v pgbackrest >/dev/null || missing+=(pgbackrest)
# A cluster's automatic failover: Patroni on every node, the leader lock in a three-member etcd
# (Patroni's etcd3 client is python3-etcd's, named here so that no other DCS client is picked).
command -v patroni >/dev/null || missing+=(patroni python3-etcd)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v shellcheck >/dev/null || missing+=(shellcheck)
# The EC2 scripts compute SCRAM verifiers with python3; the tests run that code here too.
command -v python3 >/dev/null || missing+=(python3)
# The GCP and Azure preludes reach their cloud with curl; their tests run them against local fakes.
command -v curl >/dev/null || missing+=(curl)
# App services build and run natively: git clones their repositories, Python apps get a venv.
command -v git >/dev/null || missing+=(git)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# The browser the end-to-end tests and the web benchmark drive (Debian's, never a downloaded one).
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)

if ((${#missing[@]} > 0)); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install ${missing[*]} with your package manager, then run this again" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# App services run as this account, which owns nothing else (never root, never postgres).
if ! getent passwd cloudseed-app >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cloudseed-app
fi

npm ci --no-fund --no-audit
npm run build --silent
