#!/usr/bin/env bash
# Fetches GraphiQL's browser build and the React it runs on into api/assets/graphiql/vendor/
# with `npm pack`, refusing any tarball whose sha512 is not the one pinned below, and writes
# SHA256SUMS for the files taken (a unit test checks the embedded files against it).
#
#   scripts/vendor_graphiql.sh           replace the vendored files
#   scripts/vendor_graphiql.sh --check   fetch again and say whether the vendored files match
#
# Needs node and npm and the npm registry; building and testing Patchwork needs none of them.
# To update: change a version below and its integrity (`npm view NAME@VERSION dist.integrity`),
# run this, update the table in api/assets/graphiql/README.md, and run the tests. graphiql 5
# ships no UMD build (it needs a bundler), so GraphiQL stays on 4.x here.
set -euo pipefail
cd "$(dirname "$0")/.."

# name@version|sha512 integrity of the npm tarball|path in the package:name here ...
PACKAGES=(
  "graphiql@4.1.2|sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg==|graphiql.min.js:graphiql.min.js graphiql.min.css:graphiql.min.css LICENSE:LICENSE-graphiql"
  "react@18.3.1|sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==|umd/react.production.min.js:react.production.min.js LICENSE:LICENSE-react"
  "react-dom@18.3.1|sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==|umd/react-dom.production.min.js:react-dom.production.min.js LICENSE:LICENSE-react-dom"
)
DEST=api/assets/graphiql/vendor

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
command -v npm >/dev/null && command -v node >/dev/null || { echo "vendor_graphiql: needs node and npm" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
staging="$work/vendor"
mkdir "$staging"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec integrity files <<<"$entry"
  tarball=$(npm pack --silent --pack-destination "$work" "$spec" | tail -n1)
  actual=$(node -e 'const c = require("crypto"), f = require("fs");
    console.log("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$work/$tarball")
  if [ "$actual" != "$integrity" ]; then
    echo "vendor_graphiql: $spec is $actual, pinned $integrity: refusing it" >&2
    exit 1
  fi
  unpacked="$work/${spec%@*}"
  mkdir "$unpacked"
  tar -xzf "$work/$tarball" -C "$unpacked"
  for pair in $files; do
    cp "$unpacked/package/${pair%%:*}" "$staging/${pair##*:}"
  done
  echo "vendor_graphiql: $spec ($integrity)"
done
(cd "$staging" && sha256sum -- * | LC_ALL=C sort -k2 >"$work/SHA256SUMS")
mv "$work/SHA256SUMS" "$staging/SHA256SUMS"

if $check; then
  if diff -r "$staging" "$DEST" >/dev/null; then
    echo "vendor_graphiql: $DEST matches the pinned packages"
  else
    diff -rq "$staging" "$DEST" >&2 || true
    echo "vendor_graphiql: $DEST differs from the pinned packages" >&2
    exit 1
  fi
else
  rm -rf "$DEST"
  mkdir -p "$(dirname "$DEST")"
  cp -r "$staging" "$DEST"
  echo "vendor_graphiql: wrote $DEST ($(du -sh "$DEST" | cut -f1))"
fi
