#!/usr/bin/env bash
# Installs nginx from Debian's packages, for the check of docs/deploy.md's config
# (packages/cli/test/deploy-nginx.test.ts). The test runs its own nginx in the foreground, with
# its config, pid file and logs in a temp dir, so no system nginx needs to run.
set -euo pipefail
if [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
