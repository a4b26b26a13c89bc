# shellcheck shell=bash
# What the continuous-archiving scripts share, sent before backup-helpers.sh: the node's pgBackRest
# with its own config, and the repository's bucket that config names (the fingerprints of a backup
# are stored beside it, under the plan's prefix, since they outgrow the output SSM keeps).
# From the header: ARCHIVE_CONF_FILE, STANZA.
BUCKET="$(sed -n -E 's/^repo1-(s3-bucket|gcs-bucket|azure-container)=//p' "$ARCHIVE_CONF_FILE" 2>/dev/null || true)"

# The node has been configured for continuous archiving (configure.sh wrote its config).
require_repository() { [ -n "$BUCKET" ] || fail "$ARCHIVE_CONF_FILE names no repository: configure the node again"; }
# pgBackRest as postgres, for the cluster's stanza.
backrest() { runuser -u postgres -- pgbackrest --config="$ARCHIVE_CONF_FILE" --stanza="$STANZA" "$@"; }
# Creates the stanza (there already is fine), its output in file $1. The running server's
# asynchronous archive-push holds the archive lock while it pushes: a busy lock is waited out.
create_stanza() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if backrest stanza-create >"$1" 2>&1; then return 0; fi
    grep -q 'unable to acquire lock' "$1" && [ "$attempt" -lt 10 ] || return 1
    sleep 1
  done
}
# `pgbackrest info` of the stanza as compact JSON, each backup with only what the provider reads
# (backup $1 alone when given): the result line has to stay within what SSM keeps.
stanza_info() {
  backrest --output=json info | python3 -c '
import json, sys
label, stanza = sys.argv[1], sys.argv[2]
kept = []
for entry in json.load(sys.stdin):
    if entry.get("name") != stanza:
        continue
    backups = [b for b in entry.get("backup", []) if not label or b.get("label") == label]
    kept.append({
        "name": stanza,
        "status": entry.get("status"),
        "backup": [{
            "label": b.get("label"),
            "type": b.get("type"),
            "timestamp": b.get("timestamp"),
            "info": {"size": b.get("info", {}).get("size"), "repository": {"delta": b.get("info", {}).get("repository", {}).get("delta")}},
            "archive": b.get("archive"),
        } for b in backups],
        "archive": [{"min": a.get("min"), "max": a.get("max")} for a in entry.get("archive", [])],
    })
print(json.dumps(kept, separators=(",", ":")))
' "$1" "$STANZA"
}
# The label of the stanza's newest backup, or nothing.
newest_label() { stanza_info '' | python3 -c 'import json, sys; print(([b["label"] for e in json.load(sys.stdin) for b in e["backup"]] or [""])[-1])'; }
