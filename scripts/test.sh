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
# GStreamer's webrtcbin and Debian's Python bindings for it: test/interop's WHIP publisher
# (run with /usr/bin/python3, the interpreter those bindings are for).
/usr/bin/python3 -c 'import gi; gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ("webrtcbin", "nicesrc", "x264enc", "opusenc", "rtph264pay"))' 2>/dev/null ||
	apt_install python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-good \
		gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice
if ! aws ivs-realtime help >/dev/null 2>&1 || ! python3 -c 'import boto3' 2>/dev/null; then
	echo "installing awscli and boto3 with pip" >&2
	python3 -m pip install --quiet 'awscli>=1.32' 'boto3>=1.34'
fi

# versitygw: the real S3 server internal/storage's tests run against. go install puts it in
# GOBIN (or GOPATH/bin), which must be on PATH for the tests.
gobin=$(go env GOBIN)
export PATH="${gobin:-$(go env GOPATH)/bin}:$PATH"
need versitygw || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0

# The JS SDK, pinned in test/compat/js/package-lock.json.
(cd test/compat/js && npm ci --no-audit --no-fund --loglevel=error)

# Debian's Chromium (never a downloaded browser) and the pinned playwright-core and hls.js
# that play recordings back in test/recording.
need chromium || apt_install chromium
(cd test/recording/play && npm ci --no-audit --no-fund --loglevel=error)
# The same Chromium drives the console and the client module in test/browser, with the
# playwright-core pinned in test/browser/package-lock.json.
(cd test/browser && npm ci --no-audit --no-fund --loglevel=error)

echo "== gofmt / go vet"
unformatted=$(gofmt -l cmd internal test web)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== go test"
go test -race -count=1 -timeout 20m ./...
