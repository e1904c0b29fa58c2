#!/usr/bin/env bash
# Installs the Debian packages the tests need (headless Chromium for webview and VS Code tests,
# headers for code-server's native modules). Safe to run twice; skips what is already there.
set -euo pipefail
need=()
for pkg in chromium libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
