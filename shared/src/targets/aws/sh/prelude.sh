# shellcheck shell=bash
# What a node script asks of its cloud, on AWS. Every script is sent as its header (the values it
# starts from), this prelude, then its body; another cloud's prelude defines the same functions.
# Nothing here runs a command: it only defines functions, which read REGION from the header.

# Prints the SecureString parameter $1, decrypted.
read_secret() { aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --query Parameter.Value --output text; }

# The address of the object at key $1 in the bucket, for the other object_* functions and for messages.
object_url() { printf 's3://%s/%s' "$BUCKET" "$1"; }
# Stores standard input, encrypted at rest, as object $1 (an object_url) of content type $2; more options for the upload follow.
object_put() {
  local url=$1 content_type=$2
  shift 2
  aws --region "$REGION" s3 cp - "$url" --sse AES256 --content-type "$content_type" "$@" --only-show-errors
}
# Streams object $1 (an object_url) to standard output.
object_get() { aws --region "$REGION" s3 cp "$1" - --only-show-errors; }
object_remove() { aws --region "$REGION" s3 rm "$1" --only-show-errors; }

# Hands the script's result, a JSON document, to the provider: on AWS the one line of standard output
# that SSM keeps (the script moved its own standard output to fd 3 and everything else to standard error).
report_status() { printf '%s %s\n' "$RESULT_MARKER" "$1" >&3; }

# Prints the instance's private IPv4 address, from the instance metadata service (IMDSv2).
private_ipv4() {
  local token address
  token="$(curl -sf -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)"
  address="$(curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/local-ipv4)"
  [[ "$address" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || { echo "the instance metadata service gave no private IPv4 address" >&2; return 1; }
  printf '%s' "$address"
}
