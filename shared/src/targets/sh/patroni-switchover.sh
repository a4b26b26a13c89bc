# shellcheck shell=bash
# Asks the leader's Patroni to hand over to CANDIDATE (POST /switchover), which answers once the
# candidate leads. The REST API's password is read from the secret store and reaches curl through
# its standard input, never its command line.
# From the header: REGION, PATRONI_REST_PORT, REST_USER, REST_PASSWORD_PARAMETER, LEADER, CANDIDATE.
set -euo pipefail
umask 077
ADDRESS="$(private_ipv4)"
PASSWORD="$(read_secret "$REST_PASSWORD_PARAMETER")"
[[ "$PASSWORD" =~ ^[A-Za-z0-9]+$ ]] || { echo "the Patroni password parameter does not hold a CloudSeed-generated password" >&2; exit 1; }
ANSWER="$(mktemp)"
trap 'rm -f "$ANSWER"' EXIT
STATUS="$(printf 'user = "%s:%s"\n' "$REST_USER" "$PASSWORD" \
  | curl -s -m 120 -K - -o "$ANSWER" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data "{\"leader\": \"$LEADER\", \"candidate\": \"$CANDIDATE\"}" "http://$ADDRESS:$PATRONI_REST_PORT/switchover" || true)"
unset PASSWORD
[ "$STATUS" = 200 ] || { echo "Patroni did not switch over (HTTP $STATUS): $(head -c 400 "$ANSWER")" >&2; exit 1; }
echo "switched over from $LEADER to $CANDIDATE"
