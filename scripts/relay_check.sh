#!/usr/bin/env bash
# Relay's compiler against schema.graphql, with the Relay-style documents of tests/relay (a
# team screen refetched through node(id:), connections paged both ways, subscriptions). Relay
# refuses a schema without a Node interface, node(id:), or connections lacking what its
# pagination needs. The compiler is a native binary from the npm registry's relay-compiler
# package (checked against its pinned integrity; no Node.js needed), cached under target/.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=21.0.1
INTEGRITY="sha512-Wqlg3MtHyBlAYByVo24Wy9H3n2bAw991gPmzdo3XfNv+TzhI8zuGogtiae+7NORI7zhghgZaHC7Sp8S8ZPRYEA=="
TARGET=${CARGO_TARGET_DIR:-target}
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-arm64) platform=macos-arm64 ;;
  Darwin-x86_64) platform=macos-x64 ;;
  *) echo "relay check: no relay-compiler build for $(uname -s)-$(uname -m)"; exit 1 ;;
esac
home="$TARGET/relay-compiler-$VERSION"
relay="$home/package/$platform/relay"
if [ ! -x "$relay" ]; then
  mkdir -p "$home"
  tarball="$home/relay-compiler.tgz"
  curl -fsSL --retry 3 -o "$tarball" \
    "https://registry.npmjs.org/relay-compiler/-/relay-compiler-$VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$got" != "$INTEGRITY" ]; then
    echo "relay check: relay-compiler-$VERSION.tgz does not match its integrity" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$home" "package/$platform/relay"
  rm "$tarball"
fi
relay=$(realpath "$relay")
# Compile a copy, so that the generated files land under target/, not in the tree.
work="$TARGET/relay-check"
rm -rf "$work"
mkdir -p "$work"
cp -r tests/relay/src "$work/src"
cat > "$work/relay.config.json" <<JSON
{ "src": "./src", "schema": "$PWD/schema.graphql", "language": "javascript", "eagerEsModules": true }
JSON
(cd "$work" && "$relay" relay.config.json 2>&1) | sed 's/\x1b\[[0-9;]*m//g' | tee "$work/log"
grep -q "Compilation completed" "$work/log" && ! grep -q "ERROR" "$work/log"
echo "relay check: Relay's compiler accepts schema.graphql with tests/relay's documents"
