# shellcheck shell=bash
# What a node script asks of its cloud, on an Azure virtual machine. Every script is sent as its header
# (the values it starts from), this prelude, then its body; every cloud's prelude defines the same
# functions (the contract is at the top of shared/src/targets/node-scripts.ts). Nothing here runs a
# command: it only defines functions, which read VAULT, STORAGE_ACCOUNT, BUCKET (the blob container),
# ARCHIVE_BUCKET and NETWORK_RANGES from the header, and CLOUDSEED_RESULT_KEY, when the provider sets
# it, from the environment.
#
# Everything goes through curl and python3, which every supported image has: the instance metadata
# service (IMDS) for the machine's own facts and for tokens of its one user-assigned managed identity,
# the REST APIs of Key Vault and Blob Storage with those tokens. A token never appears on a command
# line, where ps would show it to every user of the node: curl reads it as a header from a process
# substitution.

# Reads IMDS path $1 (query included). A proxy from the environment must never see it: it is link-local.
# The endpoint is Azure's unless the environment points it elsewhere (the tests, at a loopback fake).
azure_imds() {
  curl -sf -m 5 --retry 3 --noproxy '*' -H 'Metadata: true' "${CLOUDSEED_AZURE_IMDS_URL:-http://169.254.169.254/metadata}/$1"
}

# Prints the managed identity's access token for resource $1 (IMDS caches and refreshes it).
azure_token() {
  local answer
  answer="$(azure_imds "identity/oauth2/token?api-version=2018-02-01&resource=$1")" || {
    echo "cloudseed: the instance metadata service gave no token of the managed identity for $1" >&2
    return 1
  }
  printf '%s' "$answer" | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["access_token"])'
}

# curl with the managed identity's token for resource $1: the header comes from a file descriptor, never from argv.
azure_api() {
  local token
  token="$(azure_token "$1")" || return 1
  shift
  curl -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@"
}

# Prints the secret $1 (a path like /cloudseed/<plan>/<component>/password) exactly as stored. Key
# Vault names take no '/': the path is named with '-' instead, without a leading one.
read_secret() {
  local name=${1#/} vault answer status
  name=${name//\//-}
  vault="${CLOUDSEED_AZURE_VAULT_URL:-https://${VAULT:?the header sets no VAULT}.vault.azure.net}"
  # The status goes on a line of its own after the body, so a failure can name it in one line.
  answer="$(azure_api https://vault.azure.net -s -w '\n%{http_code}' "$vault/secrets/$name?api-version=7.4")" || true
  status=${answer##*$'\n'}
  if [ "$status" != 200 ]; then
    echo "cloudseed: could not read secret $name from Key Vault (HTTP ${status:-000})" >&2
    return 1
  fi
  printf '%s' "${answer%$'\n'*}" | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["value"])'
}

# The address of the blob at key $1 in the container: the key percent-encoded, each '/' kept.
object_url() {
  printf '%s/%s/' "${CLOUDSEED_AZURE_BLOB_URL:-https://${STORAGE_ACCOUNT:?the header sets no STORAGE_ACCOUNT}.blob.core.windows.net}" \
    "${BUCKET:?the header sets no BUCKET}"
  python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(sys.argv[1], safe="/"))' "$1"
}

# curl against Blob Storage with the storage token. OAuth needs a stated REST version; this one takes
# a Put Blob of up to 5000 MiB.
azure_storage() { azure_api https://storage.azure.com/ -H 'x-ms-version: 2023-11-03' "$@"; }
azure_blob() { azure_storage -sS -f "$@"; }

# Stores standard input as blob $1 (an object_url) of content type $2; the options for another cloud's
# upload that may follow are ignored. Blob Storage takes no chunked body, every request states its
# length: the stream is cut into blocks of CLOUDSEED_AZURE_BLOCK_BYTES (100 MiB), spooled one at a time
# to a file only root reads. A stream that fits one block is one Put Blob; a longer one is a Put Block
# per block, committed by Put Block List, so the disk holds one block however large the dump. Azure
# Storage encrypts every blob at rest. A subshell, so the spool's trap is its own and not the script's.
object_put() (
  block_bytes=${CLOUDSEED_AZURE_BLOCK_BYTES:-104857600}
  spool="$(mktemp "${TMPDIR:-/tmp}/cloudseed-blob.XXXXXX")" || exit
  trap 'rm -f "$spool"' EXIT
  # The callers may have errexit off (an `if !`, a pipeline they check): every step says it failed.
  head -c "$block_bytes" >"$spool" || exit
  if [ "$(stat -c %s "$spool")" -lt "$block_bytes" ]; then
    azure_blob -o /dev/null -X PUT -T "$spool" -H 'x-ms-blob-type: BlockBlob' -H "Content-Type: $2" "$1"
    exit
  fi
  blocks=()
  while [ "$(stat -c %s "$spool")" -gt 0 ]; do
    # Every block id of a blob has the same length: base64 of a fixed-width counter.
    blocks+=("$(printf 'block-%08d' "${#blocks[@]}" | base64)")
    azure_blob -o /dev/null -X PUT -T "$spool" "$1?comp=block&blockid=$(azure_query_value "${blocks[-1]}")" || exit
    head -c "$block_bytes" >"$spool" || exit
  done
  printf '<?xml version="1.0" encoding="utf-8"?><BlockList>%s</BlockList>' "$(printf '<Latest>%s</Latest>' "${blocks[@]}")" \
    | azure_blob -o /dev/null -X PUT -H 'Content-Type: application/xml' -H "x-ms-blob-content-type: $2" --data-binary @- "$1?comp=blocklist"
)
# Percent-encodes $1 for a query string.
azure_query_value() { python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# Streams blob $1 (an object_url) to standard output; fails, writing nothing, when it is missing.
object_get() { azure_blob "$1"; }

# Removes blob $1 (an object_url); one that is not there counts as removed.
object_remove() {
  local status
  status="$(azure_storage -sS -o /dev/null -w '%{http_code}' -X DELETE "$1")" || status=000
  case $status in
    2?? | 404) return 0 ;;
    *)
      echo "cloudseed: could not remove $1 (HTTP $status)" >&2
      return 1
      ;;
  esac
}

# Hands the script's result, a JSON document, to the provider: the one line of standard output that Run
# Command keeps (the script moved its own standard output to fd 3 and everything else to standard error).
# Run Command keeps only the end of the output, 4 KiB: a longer result (pgBackRest's list of backups,
# verify's report) is stored as the blob the provider named (CLOUDSEED_RESULT_KEY, in the container
# BUCKET names), and the line points to it. A result that could not be stored is not reported at all.
report_status() {
  if [ "${#1}" -le "${CLOUDSEED_RESULT_INLINE_BYTES:-3000}" ] || [ -z "${CLOUDSEED_RESULT_KEY:-}" ]; then
    printf '%s %s\n' "$RESULT_MARKER" "$1" >&3
    return
  fi
  [[ "$CLOUDSEED_RESULT_KEY" =~ ^[A-Za-z0-9/._-]+$ ]] || { echo "cloudseed: $CLOUDSEED_RESULT_KEY is not a key for the result" >&2; return 1; }
  if ! printf '%s' "$1" | object_put "$(object_url "$CLOUDSEED_RESULT_KEY")" application/json; then
    echo "cloudseed: could not store the result as $CLOUDSEED_RESULT_KEY" >&2
    return 1
  fi
  printf '%s {"resultKey":"%s"}\n' "$RESULT_MARKER" "$CLOUDSEED_RESULT_KEY" >&3
}

# Prints the machine's private IPv4 address (its first network interface's first).
private_ipv4() {
  local address
  address="$(azure_imds 'instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?api-version=2021-02-01&format=text' || true)"
  [[ "$address" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || { echo "the instance metadata service gave no private IPv4 address" >&2; return 1; }
  printf '%s' "$address"
}
# CloudSeed's machines on Azure have no public address: they reach out through a NAT gateway.
public_ipv4() { return 0; }
# The virtual machine's name: the last segment of its resource id, which the provider knows it by.
instance_name() { azure_imds 'instance/compute/name?api-version=2021-02-01&format=text'; }
# The machine's name in its virtual network's DNS, when it has one.
node_host_names() {
  hostname -f 2>/dev/null || true
}

# The container pgBackRest archives to: the provider names it, in the header.
archive_bucket() { printf '%s' "$ARCHIVE_BUCKET"; }

# The virtual network's IPv4 ranges, one a line: the provider knows them, and passes them in the header.
network_ranges() {
  local range
  for range in "${NETWORK_RANGES[@]}"; do printf '%s\n' "$range"; done
}

# curl and python3, all the functions above call, are on every supported image.
install_cloud_tools() { return 0; }

# The data disk azure-json attaches at LUN 0, as Azure's udev rules name it (NVMe sizes under data/by-lun).
data_disk() {
  if [ -e /dev/disk/azure/data/by-lun/0 ]; then printf '%s' /dev/disk/azure/data/by-lun/0; else printf '%s' /dev/disk/azure/scsi1/lun0; fi
}
