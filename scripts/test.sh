#!/usr/bin/env bash
# Runs every test of Footlight on a fresh machine, installing what the tests need first.
# Usage: ./scripts/test.sh            (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
	else
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
	fi
}

# Real clients the tests drive: the aws CLI and boto3 (awscli 1.x from pip: Debian's awscli
# has no ivs-realtime), Node for the JS SDK.
need go || { echo "Go 1.26+ is required (https://go.dev/dl/)" >&2; exit 1; }
need node && need npm || apt_install nodejs npm
# ffmpeg encodes the H.264/VP8/Opus the media tests publish.
need ffmpeg || apt_install ffmpeg
if ! aws ivs-realtime help >/dev/null 2>&1 || ! python3 -c 'import boto3' 2>/dev/null; then
	echo "installing awscli and boto3 with pip" >&2
	python3 -m pip install --quiet 'awscli>=1.32' 'boto3>=1.34'
fi

# The JS SDK, pinned in test/compat/js/package-lock.json.
(cd test/compat/js && npm ci --no-audit --no-fund --loglevel=error)

echo "== gofmt / go vet"
unformatted=$(gofmt -l cmd internal test)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== go test"
go test -race -count=1 -timeout 20m ./...
