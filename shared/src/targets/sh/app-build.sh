# shellcheck shell=bash
# CloudSeed: builds an app's image in CodeBuild from a public git repository and pushes it to the
# app's ECR repository. The project's buildspec (build.ts) writes this file and runs it once per
# phase with the stage as $1: fetch (pre_build), image (build), push (post_build). What a stage
# learns it appends to the state file $CLOUDSEED_STATE, which the next stages read and the buildspec
# finally sources, so that CodeBuild exports CLOUDSEED_COMMIT, CLOUDSEED_IMAGE_TAG,
# CLOUDSEED_DOCKERFILE and CLOUDSEED_RUNTIME to BatchGetBuilds.
#
# Set for each build (StartBuild's environment overrides):
#   CLOUDSEED_REPO_URL        the repository's https URL (no credentials: a public repository)
#   CLOUDSEED_BRANCH          the branch to build
#   CLOUDSEED_COMMIT_WANTED   a commit of that branch, or empty for the branch's newest
#   CLOUDSEED_ROOT_DIR        the app's directory in the repository, empty for its root
#   CLOUDSEED_IMAGE_REPO      the ECR repository's URI
#   CLOUDSEED_DOCKERFILE_B64  the Dockerfile CloudSeed wrote from the plan (base64), or empty
# and by CodeBuild: AWS_REGION. CLOUDSEED_SOURCE_DIR, where the repository is checked out, defaults
# to /tmp/cloudseed-source.
set -euo pipefail

readonly SOURCE_DIR=${CLOUDSEED_SOURCE_DIR:-/tmp/cloudseed-source}

say() { printf 'cloudseed: %s\n' "$*"; }
# The last `cloudseed: error:` line of a failed build is what CloudSeed reports as its reason.
fail() {
  printf 'cloudseed: error: %s\n' "$*" >&2
  exit 1
}
remember() { printf '%s=%q\n' "$1" "$2" >>"$CLOUDSEED_STATE"; }

app_dir() { printf '%s/%s' "$SOURCE_DIR" "$CLOUDSEED_ROOT_DIR"; }

fetch() {
  rm -rf "$SOURCE_DIR"
  : >"$CLOUDSEED_STATE"
  say "cloning $CLOUDSEED_REPO_URL, branch $CLOUDSEED_BRANCH"
  # Blobs come with the checkout only; commits and trees are all there, so a short commit id resolves.
  GIT_TERMINAL_PROMPT=0 git clone --quiet --filter=blob:none --no-checkout --branch "$CLOUDSEED_BRANCH" -- "$CLOUDSEED_REPO_URL" "$SOURCE_DIR" ||
    fail "cannot clone branch $CLOUDSEED_BRANCH of $CLOUDSEED_REPO_URL: CloudSeed builds public repositories, and the branch must exist"
  cd "$SOURCE_DIR"
  local wanted=${CLOUDSEED_COMMIT_WANTED:-"origin/$CLOUDSEED_BRANCH"}
  git -c advice.detachedHead=false checkout --quiet --force --detach "$wanted" ||
    fail "commit $CLOUDSEED_COMMIT_WANTED is not in $CLOUDSEED_REPO_URL"
  if [[ -n "$CLOUDSEED_COMMIT_WANTED" ]] && ! git merge-base --is-ancestor HEAD "origin/$CLOUDSEED_BRANCH"; then
    fail "commit $CLOUDSEED_COMMIT_WANTED is not on branch $CLOUDSEED_BRANCH"
  fi
  local commit
  commit=$(git rev-parse HEAD)
  say "building commit $commit"

  [[ -d "$(app_dir)" ]] || fail "the repository has no directory ${CLOUDSEED_ROOT_DIR} (source.rootDir)"
  cd "$(app_dir)"
  local dockerfile recipe
  if [[ -f Dockerfile ]]; then
    dockerfile=repository
    recipe=repository
    say "using the repository's own Dockerfile"
  elif [[ -n "$CLOUDSEED_DOCKERFILE_B64" ]]; then
    printf '%s' "$CLOUDSEED_DOCKERFILE_B64" | base64 -d >Dockerfile
    dockerfile=generated
    recipe=$CLOUDSEED_DOCKERFILE_B64
    say 'the repository has no Dockerfile; CloudSeed wrote this one from the plan:'
    cat Dockerfile
  else
    fail "the repository has no Dockerfile in ${CLOUDSEED_ROOT_DIR:-its root}; on AWS give the app build.runtime and run.startCommand (CloudSeed then writes the Dockerfile) or add a Dockerfile"
  fi
  local runtime=''
  if [[ -f package.json ]]; then
    runtime=node
  elif [[ -f requirements.txt || -f pyproject.toml ]]; then
    runtime=python
  fi
  # Tags are immutable: the same commit built the same way is the same image, built once.
  local digest
  digest=$(printf '%s' "$recipe" | sha256sum | cut -c1-12)
  remember CLOUDSEED_COMMIT "$commit"
  remember CLOUDSEED_IMAGE_TAG "$commit-$digest"
  remember CLOUDSEED_DOCKERFILE "$dockerfile"
  remember CLOUDSEED_RUNTIME "$runtime"
}

image() {
  # shellcheck source=/dev/null
  . "$CLOUDSEED_STATE"
  cd "$(app_dir)"
  local registry=${CLOUDSEED_IMAGE_REPO%%/*} repository=${CLOUDSEED_IMAGE_REPO#*/}
  aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$registry" >/dev/null
  if aws ecr describe-images --region "$AWS_REGION" --repository-name "$repository" --image-ids "imageTag=$CLOUDSEED_IMAGE_TAG" >/dev/null 2>&1; then
    say "image $CLOUDSEED_IMAGE_TAG exists already: not built again"
    remember CLOUDSEED_PUSH no
    return
  fi
  docker build --pull --tag "$CLOUDSEED_IMAGE_REPO:$CLOUDSEED_IMAGE_TAG" .
  remember CLOUDSEED_PUSH yes
}

push() {
  # shellcheck source=/dev/null
  . "$CLOUDSEED_STATE"
  [[ "$CLOUDSEED_PUSH" == yes ]] || return 0
  docker push --quiet "$CLOUDSEED_IMAGE_REPO:$CLOUDSEED_IMAGE_TAG"
  say "pushed $CLOUDSEED_IMAGE_REPO:$CLOUDSEED_IMAGE_TAG"
}

case "${1:-}" in
  fetch) fetch ;;
  image) image ;;
  push) push ;;
  *) fail "unknown stage ${1:-(none)}" ;;
esac
