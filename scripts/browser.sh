#!/usr/bin/env bash
# Makes ready what the browser tests (tests/src/browser.rs) need, and prints its paths on stdout,
# one a line: Debian's Chromium (/usr/bin/chromium), its WebDriver (/usr/bin/chromedriver), and
# axe-core's script (target/browser/axe.min.js, for accessibility checks).
#
# Chromium and chromedriver come from Debian's packages `chromium` and `chromium-driver`,
# installed with apt-get when missing (through sudo when not root; `apt-get update` only when
# the install fails without it). axe-core comes from the npm registry's tarball, checked before
# it is unpacked against the sha512 integrity the registry's metadata gives and against the
# integrity recorded below for the pinned version. Needs only bash and python3. Quiet and quick
# when all is there already; safe to run again, and by two callers at once.
# Another axe-core: AXE_VERSION (then no pinned integrity: the registry's is checked only);
# registry: npm_config_registry.
set -euo pipefail

AXE_VERSION="${AXE_VERSION:-4.14.1}"
# The integrity of the pinned version, as first fetched: a registry that later served other
# bytes under this version is refused.
declare -A PINNED=(
  [axe-core@4.14.1]="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
registry="${npm_config_registry:-${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}}"
registry="${registry%/}"

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

root="$(cd "$(dirname "$0")/.." && pwd)"
# Always the workspace's own target/: the harness finds the script at
# CARGO_MANIFEST_DIR/../target/browser, whatever CARGO_TARGET_DIR says.
dir="$root/target/browser"
axe="$dir/axe.min.js"
stamp="axe-core@$AXE_VERSION ${PINNED[axe-core@$AXE_VERSION]:-unpinned}"
say() { echo "browser: $*" >&2; }

browsers_ready() { [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; }
axe_ready() { [ "$(cat "$dir/.axe-installed" 2>/dev/null)" = "$stamp" ] && [ -s "$axe" ]; }

provide() {
  echo "$CHROMIUM"
  echo "$CHROMEDRIVER"
  echo "$axe"
}

if browsers_ready && axe_ready; then
  provide
  exit 0
fi

# --- Chromium and chromedriver, from Debian ---------------------------------------------------
if ! browsers_ready; then
  command -v apt-get >/dev/null || {
    say "$CHROMIUM and $CHROMEDRIVER are missing and there is no apt-get to install Debian's chromium and chromium-driver"
    exit 1
  }
  if [ "$(id -u)" = 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
  elif command -v sudo >/dev/null; then
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
  else
    say "$CHROMIUM and $CHROMEDRIVER are missing; installing them needs root or sudo (apt-get install chromium chromium-driver)"
    exit 1
  fi
  say "installing Debian's chromium and chromium-driver"
  install() { "${as_root[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null; }
  if ! install 2>/dev/null; then
    say "the install needs fresh package lists: apt-get update"
    "${as_root[@]}" apt-get update -qq >/dev/null
    install
  fi
  browsers_ready || { say "apt-get finished but $CHROMIUM or $CHROMEDRIVER is still missing"; exit 1; }
  "$CHROMEDRIVER" --version >/dev/null 2>&1 || { say "$CHROMEDRIVER does not run"; exit 1; }
fi

# --- axe-core, from the npm registry ----------------------------------------------------------
if ! axe_ready; then
  command -v python3 >/dev/null || { say "python3 is needed to fetch axe-core"; exit 1; }
  mkdir -p "$dir"
  # One fetcher at a time; the second finds the first one's result.
  exec 9>"$dir/.axe.lock"
  command -v flock >/dev/null && flock 9
  if ! axe_ready; then
    say "fetching axe-core $AXE_VERSION into $axe"
    python3 - "$registry" axe-core "$AXE_VERSION" "$dir" "${PINNED[axe-core@$AXE_VERSION]:-}" <<'EOF'
import base64, hashlib, io, json, os, sys, tarfile, tempfile, time, urllib.parse, urllib.request
registry, name, version, out_dir, pinned = sys.argv[1:]

def get(url, accept=None):
    for attempt in range(4):
        try:
            req = urllib.request.Request(url, headers={"accept": accept} if accept else {})
            with urllib.request.urlopen(req, timeout=120) as res:
                return res.read()
        except OSError as e:
            if attempt == 3:
                sys.exit(f"browser: could not fetch {url}: {e}")
            time.sleep(2 * (attempt + 1))

meta = json.loads(get(f"{registry}/{urllib.parse.quote(name, safe='@')}",
                      "application/vnd.npm.install-v1+json"))
if version not in meta.get("versions", {}):
    sys.exit(f"browser: {name}@{version} is not in the registry (latest: {meta.get('dist-tags', {}).get('latest')})")
dist = meta["versions"][version]["dist"]
integrity = dist.get("integrity", "")
if pinned and integrity != pinned:
    sys.exit(f"browser: the registry's integrity for {name}@{version} is not the one pinned in scripts/browser.sh")
if not integrity.startswith("sha512-"):
    sys.exit(f"browser: the registry gives no sha512 integrity for {name}@{version}")
data = get(dist["tarball"])
got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
if got != integrity:
    sys.exit(f"browser: {name}@{version}: checksum mismatch (registry {integrity}, download {got})")
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    member = tar.getmember("package/axe.min.js")
    script = tar.extractfile(member).read()
if b"axe" not in script[:4096] or len(script) < 100_000:
    sys.exit(f"browser: {name}@{version}: package/axe.min.js does not look like axe-core ({len(script)} bytes)")
# Written beside its final place, then renamed: a reader never sees half a file.
fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".axe.min.js.")
with os.fdopen(fd, "wb") as f:
    f.write(script)
os.chmod(tmp, 0o644)
os.replace(tmp, os.path.join(out_dir, "axe.min.js"))
EOF
    echo "$stamp" > "$dir/.axe-installed.tmp"
    mv "$dir/.axe-installed.tmp" "$dir/.axe-installed"
  fi
fi

provide
