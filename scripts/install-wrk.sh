#!/usr/bin/env bash
# Installs wrk (a C HTTP load generator) from Debian's packages, for `npm run bench`. Does nothing
# when wrk is already on the PATH; needs root (or sudo) otherwise.
set -euo pipefail
if command -v wrk >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "install-wrk: wrk is not on the PATH and apt-get is missing; install wrk yourself" >&2
  exit 1
fi
run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run_as_root apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
  { run_as_root apt-get update -qq && run_as_root apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
command -v wrk >/dev/null
