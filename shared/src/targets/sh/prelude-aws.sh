# shellcheck shell=bash
# What a node script asks of its cloud, on AWS. Every script is sent as its header (the values it
# starts from), this prelude, then its body; every cloud's prelude defines the same functions (the
# contract is at the top of shared/src/targets/node-scripts.ts). Nothing here runs a command: it
# only defines functions, which read REGION (and ARCHIVE_BUCKET_PREFIX) from the header.

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

# Reads a path of the instance metadata service (IMDSv2); prints nothing where it has no such path.
imds() {
  local token
  token="$(curl -sf -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token)" || return 0
  curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1" || true
}

# Prints the instance's private IPv4 address.
private_ipv4() {
  local address
  address="$(imds meta-data/local-ipv4)"
  [[ "$address" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || { echo "the instance metadata service gave no private IPv4 address" >&2; return 1; }
  printf '%s' "$address"
}
public_ipv4() { imds meta-data/public-ipv4; }
# The instance's id, which the provider knows it by.
instance_name() { imds meta-data/instance-id; }
node_host_names() {
  imds meta-data/local-hostname
  echo
  imds meta-data/public-hostname
  echo
}

# The account's backup bucket, named after the account the instance runs in and its region.
archive_bucket() {
  local account
  account="$(imds dynamic/instance-identity/document | python3 -c 'import json, sys; print(json.load(sys.stdin)["accountId"])' || true)"
  [[ "$account" =~ ^[0-9]{12}$ ]] || { echo "the instance metadata service gave no account id" >&2; return 1; }
  printf '%s-%s-%s' "$ARCHIVE_BUCKET_PREFIX" "$account" "$REGION"
}

# The VPC's IPv4 ranges, one a line.
network_ranges() {
  local mac
  mac="$(imds meta-data/mac)"
  [ -n "$mac" ] || return 0
  imds "meta-data/network/interfaces/macs/$mac/vpc-ipv4-cidr-blocks"
  echo
}

# What the functions above call, where the image lacks it (Amazon Linux ships the AWS CLI): Ubuntu's
# snap, or Debian's own package.
install_cloud_tools() {
  command -v aws >/dev/null && return 0
  if [ "$OS_NAME" = ubuntu ]; then
    snap install aws-cli --classic
  else
    apt-get install -y -q awscli
  fi
}

# The data lives on the root volume, which grows instead: no disk of its own.
data_disk() { return 0; }
