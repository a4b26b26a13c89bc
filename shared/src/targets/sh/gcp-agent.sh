# shellcheck shell=bash
# The command agent of a CloudSeed node on Compute Engine: the one way in, since the node has no SSH.
# The GCP provider sets the instance metadata key `cloudseed-command` to a command: its id on the first
# line, the script in base64 on the second. The agent waits for that key to change (the metadata
# server's hanging GET), runs each command once, and answers through guest attributes in the
# namespace `cloudseed`, which the provider reads with instances.getGuestAttributes:
#
#   cloudseed/agent          `ready`, once the agent is up: the node can take commands
#   cloudseed/<id>-state     `running`, then `exit <code>` when the script has ended
#   cloudseed/<id>-stderr    the end of the script's standard error (at most 2,000 bytes)
#   cloudseed/<id>           the script's own result, when it reports one (report_status, prelude-gcp.sh)
#
# A command is run once however often its metadata is seen again: what it ended with is kept under
# STATE_DIR and reported again instead. The provider sends a node one command at a time, after the
# one before has ended. Runs as root under systemd (cloudseed-agent.service), restarted if it dies.

set -uo pipefail

METADATA="${CLOUDSEED_GCP_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
STATE_DIR="${CLOUDSEED_AGENT_STATE:-/var/lib/cloudseed/agent}"
COMMAND_KEY=cloudseed-command
STDERR_LIMIT=2000
COMMAND_ID_PATTERN='^[a-z0-9][a-z0-9-]{0,62}$'

metadata_get() {
  curl -sS -m 330 --noproxy '*' -H 'Metadata-Flavor: Google' "$@"
}

# Writes guest attribute cloudseed/$1 from standard input; retried, as the metadata server can be busy.
guest_attribute() {
  curl -sS -f -m 10 --retry 5 --retry-all-errors --noproxy '*' -o /dev/null -X PUT -H 'Metadata-Flavor: Google' \
    --data-binary @- "$METADATA/instance/guest-attributes/cloudseed/$1"
}

report_end() {
  local id=$1
  tail -c "$STDERR_LIMIT" "$STATE_DIR/$id.err" | guest_attribute "$id-stderr" || return 1
  guest_attribute "$id-state" <"$STATE_DIR/$id.state"
}

run_command() {
  local id=$1 script=$STATE_DIR/$1.sh code
  if [ -f "$STATE_DIR/$id.state" ]; then
    report_end "$id"
    return
  fi
  printf 'running' | guest_attribute "$id-state" || return 1
  COMMAND_ID=$id bash "$script" >"$STATE_DIR/$id.out" 2>"$STATE_DIR/$id.err" </dev/null
  code=$?
  printf 'exit %s' "$code" >"$STATE_DIR/$id.state"
  report_end "$id"
}

# Takes the command in file $1 (id, then base64), checks it, writes its script and runs it.
take_command() {
  local id encoded
  id="$(head -n 1 "$1")"
  encoded="$(tail -n +2 "$1")"
  if ! [[ "$id" =~ $COMMAND_ID_PATTERN ]]; then
    echo "cloudseed-agent: ignored a command whose id is not one CloudSeed sends" >&2
    return 0
  fi
  if [ ! -f "$STATE_DIR/$id.state" ] && ! printf '%s' "$encoded" | base64 -d >"$STATE_DIR/$id.sh" 2>/dev/null; then
    printf 'exit 126' >"$STATE_DIR/$id.state"
    printf 'cloudseed-agent: the script of command %s is not valid base64\n' "$id" >"$STATE_DIR/$id.err"
  fi
  run_command "$id"
}

main() {
  umask 077
  mkdir -p "$STATE_DIR"
  until printf 'ready' | guest_attribute agent; do sleep 2; done
  local etag=NONE headers=$STATE_DIR/headers command=$STATE_DIR/command status
  while true; do
    status="$(metadata_get -o "$command" -D "$headers" -w '%{http_code}' \
      "$METADATA/instance/attributes/$COMMAND_KEY?wait_for_change=true&timeout_sec=300&last_etag=$etag")" || status=000
    case $status in
      200)
        etag="$(tr -d '\r' <"$headers" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | tail -n 1)"
        # Without an ETag the next wait would answer at once: pace it instead of spinning.
        [ -n "$etag" ] || { etag=NONE; sleep 2; }
        take_command "$command" || echo "cloudseed-agent: could not report a command's state; it is reported when its metadata is next seen" >&2
        ;;
      # No command yet: the key appears with the first one.
      404) sleep 2 ;;
      *) sleep 5 ;;
    esac
  done
}

main
