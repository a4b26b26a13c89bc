# shellcheck shell=bash
# What a node script asks of its cloud, on Compute Engine. Every script is sent as its header (the
# values it starts from), this prelude, then its body; every cloud's prelude defines the same functions
# (the contract is at the top of shared/src/targets/node-scripts.ts). Nothing here runs a command: it
# only defines functions, which read PROJECT, BUCKET, ARCHIVE_BUCKET and NETWORK_RANGES from the header
# and COMMAND_ID, when the agent sets it, from the environment.
#
# Everything goes through curl and python3, which every supported image has: the metadata server for
# the instance's own facts and its service account's access token, the REST APIs of Secret Manager and
# Cloud Storage (XML API) with that token. The token never appears on a command line, where ps would
# show it to every user of the node: curl reads it as a header from a process substitution.

# The endpoints: Google's, unless the environment points them elsewhere (the tests, at loopback fakes).
gcp_endpoints() {
  GCP_METADATA="${CLOUDSEED_GCP_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
  GCP_SECRETS="${CLOUDSEED_GCP_SECRETS_URL:-https://secretmanager.googleapis.com}"
  GCP_STORAGE="${CLOUDSEED_GCP_STORAGE_URL:-https://storage.googleapis.com}"
}

# Reads a path of the metadata server. A proxy from the environment must never see it: it is link-local.
gcp_metadata() {
  gcp_endpoints
  curl -sf -m 5 --retry 3 --noproxy '*' -H 'Metadata-Flavor: Google' "$GCP_METADATA/$1"
}

# Prints the access token of the instance's service account (the metadata server caches and refreshes it).
gcp_token() {
  local answer
  answer="$(gcp_metadata instance/service-accounts/default/token)" || {
    echo "cloudseed: the metadata server gave no access token for the instance's service account" >&2
    return 1
  }
  printf '%s' "$answer" | python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["access_token"])'
}

# curl with the service account's token: the header comes from a file descriptor, never from argv.
gcp_api() {
  local token
  token="$(gcp_token)" || return 1
  curl -H @<(printf 'Authorization: Bearer %s\n' "$token") "$@"
}

# Prints the secret $1 (a path like /cloudseed/<plan>/<component>/password) exactly as stored. Secret
# Manager ids take no '/': the path is named with '-' instead, without a leading one.
read_secret() {
  local id=${1#/} answer status
  id=${id//\//-}
  gcp_endpoints
  # The status goes on a line of its own after the body, so a failure can name it in one line.
  answer="$(gcp_api -s -w '\n%{http_code}' "$GCP_SECRETS/v1/projects/${PROJECT:?the header sets no PROJECT}/secrets/$id/versions/latest:access")" || true
  status=${answer##*$'\n'}
  if [ "$status" != 200 ]; then
    echo "cloudseed: could not read secret $id from Secret Manager (HTTP ${status:-000})" >&2
    return 1
  fi
  printf '%s' "${answer%$'\n'*}" | python3 -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["payload"]["data"]))'
}

# The address of the object at key $1 in the bucket, for the other object_* functions and for messages.
object_url() { printf 'gs://%s/%s' "${BUCKET:?the header sets no BUCKET}" "$1"; }

# The XML API address of object $1 (an object_url): its key percent-encoded, each '/' kept.
gcp_object_address() {
  local path=${1#gs://}
  gcp_endpoints
  printf '%s/%s/' "$GCP_STORAGE" "${path%%/*}"
  python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(sys.argv[1], safe="/"))' "${path#*/}"
}

# Stores standard input as object $1 (an object_url) of content type $2; the options for another
# cloud's upload that may follow are ignored. The stream is sent chunked as it comes, however long:
# the XML API takes that in one request. Cloud Storage encrypts every object at rest.
object_put() {
  local address
  address="$(gcp_object_address "$1")" || return 1
  gcp_api -sS -f -o /dev/null -T - -H 'Transfer-Encoding: chunked' -H "Content-Type: $2" "$address"
}

# Streams object $1 (an object_url) to standard output; fails, writing nothing, when it is missing.
object_get() {
  local address
  address="$(gcp_object_address "$1")" || return 1
  gcp_api -sS -f "$address"
}

# Removes object $1 (an object_url); one that is not there counts as removed.
object_remove() {
  local address status
  address="$(gcp_object_address "$1")" || return 1
  status="$(gcp_api -sS -o /dev/null -w '%{http_code}' -X DELETE "$address")" || status=000
  case $status in
    2?? | 404) return 0 ;;
    *)
      echo "cloudseed: could not remove $1 (HTTP $status)" >&2
      return 1
      ;;
  esac
}

# Hands the script's result, a JSON document, to the provider. The agent that runs the script keeps its
# standard output like SSM does, so the result is the one line of it (the script moved its own standard
# output to fd 3 and everything else to standard error). When the agent names its command (COMMAND_ID),
# the result is also a guest attribute, which the provider can read through the Compute API after the
# agent's output is gone; it is written first, so a result that could not be handed over both ways is
# not reported at all and the script fails (a backup then removes what it stored).
report_status() {
  if [ -n "${COMMAND_ID:-}" ]; then
    gcp_endpoints
    if ! printf '%s' "$1" | curl -sS -f -m 10 --noproxy '*' -o /dev/null -X PUT -H 'Metadata-Flavor: Google' --data-binary @- \
      "$GCP_METADATA/instance/guest-attributes/cloudseed/$COMMAND_ID"; then
      echo "cloudseed: could not write the result to guest attribute cloudseed/$COMMAND_ID" >&2
      return 1
    fi
  fi
  printf '%s %s\n' "$RESULT_MARKER" "$1" >&3
}

# Prints the instance's private IPv4 address (its first network interface's).
private_ipv4() {
  local address
  address="$(gcp_metadata instance/network-interfaces/0/ip || true)"
  [[ "$address" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || { echo "the metadata server gave no private IPv4 address" >&2; return 1; }
  printf '%s' "$address"
}
# CloudSeed's instances on Compute Engine have no external address: they reach out through Cloud NAT.
public_ipv4() { return 0; }
# The instance's name, which the provider knows it by.
instance_name() { gcp_metadata instance/name; }
# The instance's internal DNS name (<name>.<zone>.c.<project>.internal).
node_host_names() {
  gcp_metadata instance/hostname || true
  echo
}

# The bucket pgBackRest archives to: the provider names it, in the header.
archive_bucket() { printf '%s' "$ARCHIVE_BUCKET"; }

# The subnet's IPv4 ranges, one a line: the provider knows them, and passes them in the header.
network_ranges() {
  local range
  for range in "${NETWORK_RANGES[@]}"; do printf '%s\n' "$range"; done
}

# curl and python3, all the functions above call, are on every supported image.
install_cloud_tools() { return 0; }

# The data disk gcp-json attaches with the device name pgdata.
data_disk() { printf '%s' /dev/disk/by-id/google-pgdata; }
