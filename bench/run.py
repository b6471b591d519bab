#!/usr/bin/env python3
"""`make bench`: a fictional county in its own database, the release server, and wrk.

Environment: SCALE (1 = 200,000 children; 0.1 and 5 are the other sizes), BENCH_DURATION
(seconds per scenario, default 20), BENCH_CONNECTIONS (default 32), BENCH_USERS (signed-in
practitioners the load is spread over, default 200), BENCH_PEER (`off` skips the peer: PostGraphile
5 over the same database, measured on the team screen in rounds alternating with Patchwork's),
BENCH_ROUNDS (rounds of the team screen, default 2 with the peer, 1 without), BENCH_PEER_WORKERS
(the peer's processes, default 2). Writes bench/results/latest.json and prints a table. Standard
library only.
"""

import glob
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
# BENCH_BIN measures another build of the server (e.g. before and after a change).
BIN = os.environ.get("BENCH_BIN") or os.path.join(TARGET, "release", "patchwork")
PASSWORD = "bench-county-password-2026"
SCALE = float(os.environ.get("SCALE", "1"))
DURATION = int(os.environ.get("BENCH_DURATION", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
USERS = int(os.environ.get("BENCH_USERS", "200"))
# A comma-separated subset of the scenarios, e.g. BENCH_ONLY=team,login. The peer runs with
# `team` (naming `postgraphile_team` selects `team` too: the two are measured together).
ONLY = ["team" if n == "postgraphile_team" else n
        for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
PEER = os.environ.get("BENCH_PEER", "on") != "off"
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "2" if PEER else "1")))
PEER_WORKERS = max(1, int(os.environ.get("BENCH_PEER_WORKERS", "2")))
PEER_DIR = os.path.join(TARGET, "bench-peer")
PEER_APP = "patchwork-bench-peer"

TEAM = """query Team($id: ID!) {
  child(id: $id) { givenName familyName dateOfBirth
    team { role sensitivity isLead lastContactAt nextContactAt
      practitioner { displayName jobTitle email phone mobile agency { name kind } } }
    tasks(status: OPEN) { title dueOn assignee { displayName } } } }"""
MY_CHILDREN = "{ myChildren(first: 50) { edges { node { id givenName familyName dateOfBirth } } } }"
MY_TASKS = "{ myTasks(first: 50) { edges { node { id title dueOn status child { id } } } } }"
SEARCH = ("query($f: String!, $d: Date!) { searchChildren(familyName: $f, dateOfBirth: $d) "
          "{ id givenName familyName dateOfBirth postcodeDistrict score } }")
CONTACT = ("mutation($i: RecordContactInput!) { recordContact(input: $i) { id } }")
UPDATE_TASK = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id version } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
# The team screen asked of the peer (PostGraphile 5, amber preset, names from its inflection):
# the same child and fields as TEAM, the identity most recently recorded, the active
# involvements and open tasks in Patchwork's order. No access rules and no audit.
PEER_TEAM = """query Team($id: UUID!) {
  childByRowId(rowId: $id) { dateOfBirth
    childIdentitiesByChildId(orderBy: [RECORDED_AT_DESC, ROW_ID_DESC], first: 1) {
      nodes { givenName familyName } }
    involvementsByChildId(condition: {endedOn: null},
                          orderBy: [IS_LEAD_DESC, STARTED_ON_ASC, ROW_ID_ASC]) {
      nodes { role sensitivity isLead lastContactAt nextContactAt
        practitionerByPractitionerId { displayName jobTitle email phone mobile }
        agencyByAgencyId { name kind } } }
    tasksByChildId(condition: {status: "OPEN"}, orderBy: [DUE_ON_ASC, CREATED_AT_ASC, ROW_ID_ASC]) {
      nodes { title dueOn practitionerByAssigneeId { displayName } } } } }"""


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def psql(url, *args, **kw):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", *args],
                          check=True, capture_output=True, text=True, **kw).stdout.strip()


def with_db(url, name):
    return re.sub(r"/[^/?]*(\?.*)?$", lambda m: f"/{name}{m.group(1) or ''}", url)


def without_tls(url):
    """The bench database's URL with `sslmode=disable` unless it names a mode. libpq's default
    (`prefer`) encrypts a loopback connection whenever the server has TLS on (Debian's does),
    while the peer's node-postgres never does unless told: every side of the comparison (the
    server, the peer and pgbench) speaks to the database the same way. Costs measured in
    docs/performance.md."""
    if "sslmode=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def post(address, query, variables=None, token=None):
    req = urllib.request.Request(
        f"{address}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json",
                 **({"authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read())


def metric(address, name):
    with urllib.request.urlopen(f"{address}/metrics", timeout=10) as res:
        for line in res.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def reset_peak_rss(pid):
    """Restarts VmHWM, so each scenario reports its own peak (Linux; a no-op elsewhere)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}"


def prepare_database(admin):
    generator = open(os.path.join(ROOT, "bench", "generate.sql"), "rb").read()
    version = hashlib.sha256(generator + open(BIN, "rb").read(0)).hexdigest()[:16]
    name = "patchwork_bench_s" + str(SCALE).replace(".", "_")
    url = with_db(admin, name)
    exists = psql(admin, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if exists:
        try:
            meta = psql(url, "-c", "SELECT generator, scale FROM bench_meta")
            if meta == f"{version}|{SCALE}":
                say(f"reusing the county in {name}")
                # Made by an older build, it may lack this build's latest migrations.
                subprocess.run([BIN, "migrate"], check=True, capture_output=True,
                               env={**os.environ, "DATABASE_URL": url})
                return url, None
        except subprocess.CalledProcessError:
            pass
        psql(admin, "-c", f"DROP DATABASE {name} WITH (FORCE)")
    psql(admin, "-c", f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([BIN, "migrate"], check=True, env=env, capture_output=True)
    # One real argon2id hash, shared by every practitioner of the county.
    subprocess.run([BIN, "create-admin", "--email", "admin@county.bench.example", "--password",
                    PASSWORD, "--name", "County Admin"], check=True, env=env, capture_output=True)
    hash_ = psql(url, "-c", "SELECT password_hash FROM practitioners LIMIT 1")
    say(f"generating the county at scale {SCALE} into {name}")
    started = time.monotonic()
    psql(url, "-v", f"scale={SCALE}", "-v", f"hash={hash_}", "-f",
         os.path.join(ROOT, "bench", "generate.sql"))
    generation = time.monotonic() - started
    psql(url, "-c", f"CREATE TABLE bench_meta AS SELECT '{version}'::text AS generator, "
                    f"'{SCALE}'::text AS scale")
    say(f"generated in {generation:.0f} s")
    return url, generation


def typo(name):
    base = name.split("-")[0]
    i = 1 + (len(base) * 7) % (len(base) - 2)
    return base[:i] + base[i + 1] + base[i] + base[i + 2:]


LUA = r"""
local lines = {}
errors = 0
function init(args)
  for line in io.lines(args[1]) do
    local f = {}
    for w in line:gmatch("[^\t]+") do table.insert(f, w) end
    table.insert(lines, f)
  end
  -- setup() has given this thread its id: without it both threads draw the same sequence.
  math.randomseed(os.time() + tonumber(args[2] or "0") + 7919 * (id or 0))
  if init_more then init_more(args) end
end
function request()
  local r = lines[math.random(#lines)]
  return wrk.format("POST", "/graphql",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. r[1] }, body(r))
end
function response(status, headers, b)
  if status ~= 200 or b:find('"errors"', 1, true) then errors = errors + 1 end
end
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do e = e + t:get("errors") end
  local s = summary.errors
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, e, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), s.connect + s.read + s.write + s.timeout))
end
"""


# The writes mix: recordContact and updateTask in turn; every other contact is a missed one,
# which notifies the child's team. Each wrk thread owns its own share of the tasks (open ones
# the token's practitioner created or is assigned to) and sends an update for a task only when
# no update of it is in flight, with the version the last response returned: no two
# connections fight over one task, so no version conflicts. A task whose
# answer never came back (an error) stays out of the rotation; the error is counted.
WRITES_LUA = r"""
local tasks, by_id, cursor, turn = {}, {}, 0, 0
function init_more(args)
  local i, n = 0, tonumber(args[4])
  for line in io.lines(args[3]) do
    if i % n == id then
      local tok, tid, v = line:match("^([^\t]+)\t([^\t]+)\t(%d+)$")
      local t = {tok, tid, tonumber(v), false}
      table.insert(tasks, t)
      by_id[tid] = t
    end
    i = i + 1
  end
end
local function update_body(t)
  -- A new due date on every update, within December 2026.
  local due = string.format("2026-12-%02d", 1 + t[3] % 28)
  return UPDATE_BODY
end
function request()
  turn = turn + 1
  if turn % 2 == 0 then
    for _ = 1, #tasks do
      cursor = cursor % #tasks + 1
      local t = tasks[cursor]
      if not t[4] then
        t[4] = true
        return wrk.format("POST", "/graphql",
          { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. t[1] },
          update_body(t))
      end
    end
  end
  local r = lines[math.random(#lines)]
  return wrk.format("POST", "/graphql",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. r[1] }, body(r))
end
local count_errors = response
function response(status, headers, b)
  local tid, v = b:match('"updateTask":{"id":"([^"]+)","version":(%d+)}')
  local t = tid and by_id[tid]
  if t then
    t[3] = tonumber(v)
    t[4] = false
  end
  count_errors(status, headers, b)
end
"""


def lua_string(s):
    return "[==[" + s + "]==]"


def body_lua(kind):
    """A Lua `body(r)` for a scenario; r = {token, child, involvement, family, dob, email}."""
    def parts(query, variables):
        text = json.dumps({"query": query, "variables": variables})
        return text
    if kind in ("team", "postgraphile_team"):
        pre, post_ = parts(TEAM if kind == "team" else PEER_TEAM, {"id": "@@"}).split("@@")
        return f"function body(r) return {lua_string(pre)} .. r[2] .. {lua_string(post_)} end"
    if kind == "my_children":
        return f"function body(r) return {lua_string(parts(MY_CHILDREN, {}))} end"
    if kind == "my_tasks":
        return f"function body(r) return {lua_string(parts(MY_TASKS, {}))} end"
    if kind == "search":
        a, b, c = parts(SEARCH, {"f": "@@", "d": "@@"}).split("@@")
        return f"function body(r) return {lua_string(a)} .. r[4] .. {lua_string(b)} .. r[5] .. {lua_string(c)} end"
    if kind == "writes":
        at = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Every other contact is a missed one (WAS_NOT_BROUGHT), which notifies the child's
        # team: one outbox message per member who may see the involvement.
        a, b, c = parts(CONTACT, {"i": {"involvementId": "@@", "kind": "PHONE",
                                        "outcome": "@@", "at": at}}).split("@@")
        u1, u2, u3, u4 = parts(UPDATE_TASK, {"i": {"id": "@@", "expectedVersion": "@V@",
                                                  "dueOn": "@@"}}).replace('"@V@"', "@@").split("@@")
        return ("local contacts = 0\n"
                "function body(r)\n"
                "  contacts = contacts + 1\n"
                "  local outcome = contacts % 2 == 0 and 'WAS_NOT_BROUGHT' or 'HAPPENED'\n"
                f"  return {lua_string(a)} .. r[3] .. {lua_string(b)} .. outcome .. {lua_string(c)}\n"
                "end\n"
                + WRITES_LUA.replace("UPDATE_BODY", f"{lua_string(u1)} .. t[2] .. {lua_string(u2)} .. "
                                     f"t[3] .. {lua_string(u3)} .. due .. {lua_string(u4)}"))
    if kind == "login":
        a, b = parts(LOGIN, {"e": "@@", "p": PASSWORD}).split("@@")
        return f"function body(r) return {lua_string(a)} .. r[6] .. {lua_string(b)} end"
    raise ValueError(kind)


WRK_THREADS = 2


def run_wrk(address, script, data, seconds, connections, *more):
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", "--timeout", "10s", "-s", script, address, "--", data, "1",
                          *more],
                         check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def write_tasks(url, tokens, path):
    """Open tasks the signed-in practitioners may update (they created it or are assigned it),
    on children they are in the team of, naming nobody the practitioner may not see (the
    creator's and assignee's involvements are STANDARD or in the practitioner's agency): up to
    8 each, with their current version, as token, task id and version."""
    emails = "{" + ",".join(tokens) + "}"
    # A task one signed-in practitioner created and another is assigned goes to one of them
    # only: listed twice, two connections would update it at once and conflict.
    rows = psql(url, "-F", "\t", "-c", f"""
        SELECT email, id, version FROM (
            SELECT email, id, version,
                   row_number() OVER (PARTITION BY email ORDER BY md5(id::text)) AS k
            FROM (SELECT DISTINCT ON (t.id) p.email, t.id, t.version
                  FROM practitioners p JOIN tasks t ON t.created_by = p.id OR t.assignee_id = p.id
                  WHERE p.email = ANY('{emails}'::text[]) AND t.status = 'OPEN'
                    AND EXISTS (SELECT 1 FROM involvements r WHERE r.child_id = t.child_id
                                AND r.practitioner_id = p.id AND r.ended_on IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM involvements h WHERE h.child_id = t.child_id
                                    AND h.practitioner_id IN (t.created_by, t.assignee_id)
                                    AND h.practitioner_id <> p.id AND h.sensitivity <> 'STANDARD'
                                    AND h.agency_id <> p.agency_id)
                  ORDER BY t.id, md5(p.email)) d) s
        WHERE k <= 8 ORDER BY k, email""").splitlines()
    with open(path, "w") as f:
        for row in rows:
            email, task, version = row.split("\t")
            f.write(f"{tokens[email]}\t{task}\t{version}\n")
    return len(rows)


def find_pgbench():
    """PGBENCH, else the newest /usr/lib/postgresql/*/bin/pgbench, else pgbench on PATH; only
    one that answers --version (Debian's /usr/bin/pgbench is a wrapper that may have nothing
    behind it)."""
    def major(path):
        m = re.search(r"/postgresql/(\d+)/", path)
        return int(m.group(1)) if m else 0
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), key=major, reverse=True)
    for candidate in [os.environ.get("PGBENCH"), *found, shutil.which("pgbench")]:
        if candidate and os.access(candidate, os.X_OK) and subprocess.run(
                [candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


# The (practitioner, child) pairs the team scenario requests, for pgbench to draw from: the
# caller's agency and the agencies they may read as (their own and those whose agreements in
# force grant to it), worked out once here as the server works them out per request.
PAIRS_SQL = """
DROP TABLE IF EXISTS bench_pairs;
CREATE TABLE bench_pairs (n serial PRIMARY KEY, practitioner_id uuid NOT NULL,
                          agency_id uuid NOT NULL, child_id uuid NOT NULL, agencies uuid[] NOT NULL);
INSERT INTO bench_pairs (practitioner_id, agency_id, child_id, agencies)
SELECT p.id, p.agency_id, v.child_id,
       ARRAY[p.agency_id] || ARRAY(
           SELECT s.from_agency_id FROM sharing_agreements s
           WHERE s.to_agency_id = p.agency_id AND s.revoked_at IS NULL
             AND s.starts_on <= current_date AND (s.ends_on IS NULL OR s.ends_on >= current_date)
           ORDER BY s.from_agency_id)
FROM (VALUES {values}) AS v (email, child_id, k)
JOIN practitioners p ON p.email = v.email
ORDER BY v.k;
ANALYZE bench_pairs;
"""


def write_pairs(url, pairs):
    values = ",".join(f"('{email}', '{child}'::uuid, {k})" for k, (email, child) in enumerate(pairs))
    psql(url, "-c", PAIRS_SQL.format(values=values))
    return int(psql(url, "-c", "SELECT count(*) FROM bench_pairs"))


def run_pgbench(pgbench, url, mode, seconds, clients, pairs, batch):
    """Team screens per second of bench/team.pgbench in `mode` (prepared or simple) over
    `pairs` rows of bench_pairs, with one bench/audit_batch.pgbench inserting the events of
    `batch` screens per `batch` reads; a failed run stops the bench with pgbench's first
    error."""
    cmd = [pgbench, "-n", "-M", mode, "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-D", f"pairs={pairs}", "-D", f"quote={int(mode == 'simple')}", "-D", f"batch={batch}",
           "-f", os.path.join(ROOT, "bench", "team.pgbench") + f"@{batch}",
           "-f", os.path.join(ROOT, "bench", "audit_batch.pgbench") + "@1", url]
    # The server's session settings (api/db/src/lib.rs), so both plan the statements alike.
    env = {**os.environ, "PGOPTIONS": "-c plan_cache_mode=force_generic_plan"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    tps = re.search(r"^tps = ([0-9.]+)", res.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", res.stdout, re.M)
    if res.returncode != 0 or not tps or (failed and int(failed.group(1)) > 0):
        lines = (res.stderr + res.stdout).splitlines()
        first = next((l for l in lines if re.search(r"error|fatal|abort", l, re.I)),
                     lines[0] if lines else f"exit status {res.returncode}")
        sys.exit(f"bench: pgbench -M {mode} failed: {first.strip()}\n  command: {' '.join(cmd)}")
    latency = re.search(r"^latency average = ([0-9.]+) ms", res.stdout, re.M)
    # Of every batch + 1 transactions, batch are screens.
    screens = float(tps.group(1)) * batch / (batch + 1)
    return screens, float(latency.group(1)) if latency else None


# The peer: PostGraphile 5 (bench/peer) under Node.js 22 (scripts/node.sh), installed into
# target/bench-peer from the committed lock file, and served as a cluster of PEER_WORKERS
# processes over the bench database.

def prepare_peer():
    """The node binary and the peer's folder, installing Node.js 22 and the locked packages
    when missing (again only when the lock file or Node.js changed)."""
    node = os.environ.get("BENCH_NODE") or subprocess.run(
        [os.path.join(ROOT, "scripts", "node.sh")], check=True, stdout=subprocess.PIPE,
        text=True).stdout.strip()
    source = os.path.join(ROOT, "bench", "peer")
    lock = open(os.path.join(source, "package-lock.json"), "rb").read()
    node_version = subprocess.run([node, "--version"], check=True, capture_output=True,
                                  text=True).stdout.strip()
    stamp = hashlib.sha256(lock + node_version.encode()).hexdigest()
    stamp_file = os.path.join(PEER_DIR, ".installed")
    os.makedirs(PEER_DIR, exist_ok=True)
    for name in ("package.json", "package-lock.json", "server.mjs"):
        # Copied beside node_modules: an ES module resolves packages from where its file is.
        shutil.copyfile(os.path.join(source, name), os.path.join(PEER_DIR, name))
    installed = open(stamp_file).read().strip() if os.path.exists(stamp_file) else None
    if installed != stamp or not os.path.isdir(os.path.join(PEER_DIR, "node_modules", "postgraphile")):
        say(f"installing the peer (bench/peer/package-lock.json) into {PEER_DIR}")
        npm = os.path.join(os.path.dirname(node), "npm")
        env = {**os.environ, "PATH": os.path.dirname(node) + os.pathsep + os.environ.get("PATH", "")}
        res = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                              "--loglevel=error"], cwd=PEER_DIR, env=env, capture_output=True,
                             text=True)
        if res.returncode != 0:
            sys.exit(f"bench: npm ci of the peer failed:\n{res.stderr or res.stdout}")
        with open(stamp_file, "w") as f:
            f.write(stamp + "\n")
    with open(os.path.join(PEER_DIR, "node_modules", "postgraphile", "package.json")) as f:
        version = json.load(f)["version"]
    return node, node_version, version


def start_peer(node, url, port, workers=PEER_WORKERS, log_name="bench-peer.log", **more_env):
    """Starts the peer's cluster; returns the process and the pids of all its processes
    (primary first) once every worker listens."""
    env = {**os.environ, "PEER_DATABASE_URL": with_app_name(url, PEER_APP), "PEER_PORT": str(port),
           "PEER_WORKERS": str(workers),
           "PEER_POOL_SIZE": str(max(1, int(os.environ.get("DATABASE_POOL_SIZE", "32")) // PEER_WORKERS)),
           "GRAPHILE_ENV": "production", "NODE_ENV": "production", **more_env}
    log = open(os.path.join(TARGET, log_name), "w")
    proc = subprocess.Popen([node, os.path.join(PEER_DIR, "server.mjs")], cwd=PEER_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    ready = [None]

    def wait_ready():
        ready[0] = proc.stdout.readline()
    t = threading.Thread(target=wait_ready, daemon=True)
    t.start()
    t.join(120)
    line = ready[0] or ""
    if not line.startswith("ready "):
        stop(proc)
        sys.exit(f"bench: the peer did not start; see {log.name}")
    return proc, [proc.pid] + [int(p) for p in line.split()[1:]]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def with_app_name(url, name):
    return url + ("&" if "?" in url else "?") + f"application_name={name}"


def check_peer(address, peer_address, url, data_lines, sample=20):
    """Asks both for the team of a sample of the load's children and compares the counts:
    the peer's must be the database's (active involvements, open tasks; never empty), and
    Patchwork's the peer's wherever no involvement of the child is RESTRICTED (elsewhere
    Patchwork may show fewer, by its rules). Stops the bench on any difference or error."""
    rows = [line.split("\t") for line in data_lines]
    step = max(1, len(rows) // sample)
    picked = rows[::step][:sample]
    children = "{" + ",".join(r[1] for r in picked) + "}"
    truth = {}
    for line in psql(url, "-F", "\t", "-c", f"""
            SELECT c.id,
                   (SELECT count(*) FROM involvements i WHERE i.child_id = c.id AND i.ended_on IS NULL),
                   (SELECT count(*) FROM tasks t WHERE t.child_id = c.id AND t.status = 'OPEN'),
                   EXISTS (SELECT 1 FROM involvements i WHERE i.child_id = c.id
                           AND i.ended_on IS NULL AND i.sensitivity <> 'STANDARD')
            FROM children c WHERE c.id = ANY('{children}'::uuid[])""").splitlines():
        child, team, tasks, restricted = line.split("\t")
        truth[child] = (int(team), int(tasks), restricted == "t")
    compared = 0
    for r in picked:
        token, child = r[0], r[1]
        mine = post(address, TEAM, {"id": child}, token)
        theirs = post(peer_address, PEER_TEAM, {"id": child})
        if theirs.get("errors") or not (theirs.get("data") or {}).get("childByRowId"):
            sys.exit(f"bench: the peer failed the team of child {child}: {json.dumps(theirs)[:500]}")
        if mine.get("errors") or not (mine.get("data") or {}).get("child"):
            sys.exit(f"bench: Patchwork failed the team of child {child}: {json.dumps(mine)[:500]}")
        p = theirs["data"]["childByRowId"]
        peer_counts = (len(p["involvementsByChildId"]["nodes"]), len(p["tasksByChildId"]["nodes"]))
        own_counts = (len(mine["data"]["child"]["team"]), len(mine["data"]["child"]["tasks"]))
        team, tasks, restricted = truth[child]
        if peer_counts != (team, tasks) or team == 0:
            sys.exit(f"bench: the peer's team of child {child} has {peer_counts} members and "
                     f"tasks; the database has {(team, tasks)}")
        if not restricted and own_counts != peer_counts:
            sys.exit(f"bench: child {child}: Patchwork shows {own_counts} members and tasks, "
                     f"the peer {peer_counts}, with no restricted involvement between them")
        if own_counts[0] > peer_counts[0] or own_counts[1] > peer_counts[1]:
            sys.exit(f"bench: child {child}: Patchwork shows more than the database has")
        compared += not restricted
    say(f"peer: same teams and tasks as Patchwork for {compared} children without a restricted "
        f"involvement, as the database for all {len(picked)} sampled")


def peer_statement(node, url, child):
    """The one statement the peer sends for the team screen, for pgbench: asked once of a
    single peer process that logs its SQL (@dataplan/pg's debug log; pg_stat_activity cuts
    statements at 1 kB and pg_stat_statements needs a server restart). Rewritten for pgbench:
    the child's uuid as :child, the text parameter (the status 'OPEN') as :open, and colons
    inside string literals written as \\x3a in E'' literals, which pgbench would otherwise
    read as variables. None when it cannot be had."""
    port = free_port()
    proc, _ = start_peer(node, url, port, workers=1, log_name="bench-peer-sql.log",
                         DEBUG="@dataplan/pg:PgExecutor", DEBUG_COLORS="0")
    try:
        post(f"http://127.0.0.1:{port}", PEER_TEAM, {"id": child})
    finally:
        stop(proc)
    log = open(os.path.join(TARGET, "bench-peer-sql.log"), encoding="utf-8", errors="replace").read()
    found = next((q for q in re.findall(r"# SQL QUERY:\n(.*?)\n\n# PLACEHOLDERS:", log, re.S)
                  if '"public"."children" as __children__' in q), None)
    if not found:
        return None
    kinds = set(re.findall(r'\$\d+::"(\w+)"', found))
    if not kinds <= {"uuid", "text"} or len(re.findall(r'\$\d+::"text"', found)) > 1:
        return None  # parameters other than the child and the task status: values unknown

    def literal(m):
        text = m.group(0)
        if ":" not in text:
            return text
        return "E" + text.replace("\\", "\\\\").replace(":", "\\x3a")
    sql = re.sub(r"(?<![A-Za-z0-9_])'(?:[^']|'')*'", literal, found)
    sql = re.sub(r'\$\d+::"uuid"', ':child::"uuid"', sql)
    sql = re.sub(r'\$\d+::"text"', ':open::"text"', sql)
    return sql.strip().rstrip(";") + ";"


def run_peer_pgbench(pgbench, url, statement, seconds, clients, pairs, path):
    """tps of the peer's one statement, prepared (as the peer runs it), children drawn from
    bench_pairs as for Patchwork's ceiling."""
    with open(path, "w") as f:
        f.write("\\set n random(1, :pairs)\n"
                "SELECT child_id AS child FROM bench_pairs WHERE n = :n \\gset\n"
                + statement + "\n")
    cmd = [pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-D", f"pairs={pairs}", "-D", "open=OPEN", "-f", path, url]
    res = subprocess.run(cmd, capture_output=True, text=True)
    tps = re.search(r"^tps = ([0-9.]+)", res.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", res.stdout, re.M)
    if res.returncode != 0 or not tps or (failed and int(failed.group(1)) > 0):
        lines = (res.stderr + res.stdout).splitlines()
        say("peer ceiling: pgbench failed: " + next(
            (l for l in lines if re.search(r"error|fatal|abort", l, re.I)), "no tps").strip())
        return None
    return float(tps.group(1))


def cpu_of(pids):
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def rss_of(pids):
    """The sum of each process's peak RSS: the cluster's memory, a little over its true peak
    when the processes peak at different moments."""
    return sum(peak_rss_mb(pid) or 0 for pid in pids)


def transactions(url):
    """Transactions PostgreSQL has counted on the bench database: each statement a client
    sends outside BEGIN/COMMIT is one. Backends report them at most once a second, so a
    difference over a run is close, not exact."""
    return int(psql(url, "-c", "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                               "WHERE datname = current_database()"))


def figures(r, served, sql, cpu_s, rss_mb):
    """One run's figures (as a scenario shows them) and the totals combine() adds up."""
    seconds = r["duration_us"] / 1e6
    return {"rps": round(r["requests"] / seconds, 1), "p50_ms": round(r["p50_us"] / 1000, 2),
            "p95_ms": round(r["p95_us"] / 1000, 2), "p99_ms": round(r["p99_us"] / 1000, 2),
            "errors": r["errors"] + r["socket_errors"],
            "cpu_ms_per_request": round(cpu_s * 1000 / served, 3),
            "peak_rss_mb": round(rss_mb, 1), "requests": r["requests"], "seconds": seconds,
            "served": served, "sql": sql, "cpu_s": cpu_s}


def combine(name, rounds, **more):
    """One scenario from its rounds: throughput and costs over all of them, latency
    percentiles averaged over the rounds, the highest peak RSS."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    served = sum(r["served"] for r in rounds)
    entry = {
        "name": name,
        "rps": round(requests / seconds, 1),
        "p50_ms": round(sum(r["p50_ms"] for r in rounds) / len(rounds), 2),
        "p95_ms": round(sum(r["p95_ms"] for r in rounds) / len(rounds), 2),
        "p99_ms": round(sum(r["p99_ms"] for r in rounds) / len(rounds), 2),
        "errors": sum(r["errors"] for r in rounds),
        "sql_per_request": round(sum(r["sql"] for r in rounds) / max(1.0, served), 2),
        "cpu_ms_per_request": round(sum(r["cpu_s"] for r in rounds) * 1000 / max(1.0, served), 3),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rounds), 1),
        "ceiling_rps": None,
        **more,
    }
    if len(rounds) > 1:
        entry["rounds"] = [{k: r[k] for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors",
                                              "cpu_ms_per_request", "peak_rss_mb")}
                           for r in rounds]
    return entry


def main():
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is missing (Debian: apt-get install wrk)")
    pgbench = find_pgbench()
    if not pgbench and (not ONLY or "team" in ONLY):
        sys.exit("bench: pgbench is missing (Debian: apt-get install postgresql-client, or the "
                 "postgresql package where the client package lacks it; or set PGBENCH)")
    admin = subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh")], check=True,
                           capture_output=True, text=True).stdout.strip()
    url, generation = prepare_database(admin)
    url = without_tls(url)
    if PEER and (not ONLY or "team" in ONLY):
        node, node_version, peer_version = prepare_peer()

    port = free_port()
    address = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": url, "BIND_ADDR": f"127.0.0.1:{port}",
           "JWT_SECRET": "bench-only-secret-" + "x" * 32, "PUBLIC_URL": address,
           "PATCHWORK_ENV": "production", "MAIL_WORKER": "off", "DAILY_JOBS_HOUR": "24",
           "DATABASE_POOL_SIZE": os.environ.get("DATABASE_POOL_SIZE", "32"),
           "SEARCH_LIMIT": "1000000000", "RUST_LOG": "warn"}
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(TARGET, "bench-server.log"), "w"))
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{address}/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit(f"bench: the server stopped at start; see {TARGET}/bench-server.log")
                time.sleep(0.1)
        rows = psql(url, "-F", "\t", "-c", f"""
            SELECT DISTINCT ON (p.id) p.email, i.child_id, i.id, n.family_name, c.date_of_birth
            FROM involvements i JOIN practitioners p ON p.id = i.practitioner_id
            JOIN children c ON c.id = i.child_id
            JOIN child_identities n ON n.involvement_id = i.id
            WHERE i.ended_on IS NULL AND p.role = 'PRACTITIONER'
            ORDER BY p.id, md5(i.id::text) LIMIT {USERS}""").splitlines()
        say(f"signing in {len(rows)} practitioners")
        data_lines, tokens, pairs = [], {}, []
        for row in rows:
            email, child, inv, family, dob = row.split("\t")
            pairs.append((email, child))
            token = post(address, LOGIN, {"e": email, "p": PASSWORD})["data"]["login"]["accessToken"]
            data_lines.append("\t".join([token, child, inv, typo(family), dob, email]))
            tokens[email] = token
        say(f"signed in; server peak RSS so far {peak_rss_mb(server.pid):.1f} MB")
        tmp = tempfile.mkdtemp(prefix="patchwork-bench-")
        data = os.path.join(tmp, "users.tsv")
        with open(data, "w") as f:
            f.write("\n".join(data_lines) + "\n")

        scenarios = []
        top = {}
        plan = [("team", DURATION, CONNECTIONS), ("my_children", DURATION, CONNECTIONS),
                ("my_tasks", DURATION, CONNECTIONS), ("search", DURATION, CONNECTIONS),
                ("writes", DURATION, CONNECTIONS), ("login", max(5, DURATION // 2), CONNECTIONS)]
        requests_200 = 'patchwork_http_requests_total{method="POST",route="/graphql",status="200"}'

        def lua_script(name):
            path = os.path.join(tmp, f"{name}.lua")
            with open(path, "w") as f:
                f.write(LUA + "\n" + body_lua(name) + "\n")
            return path

        def measure(name, script, seconds, conns, more=()):
            """One warmed-up wrk run against Patchwork: its figures and raw totals."""
            reset_peak_rss(server.pid)
            say(f"{name}: warming up")
            run_wrk(address, script, data, 3, conns, *more)
            if name == "writes":
                time.sleep(1)  # let the server finish what wrk left in flight
                write_tasks(url, tokens, more[0])
            sql0, req0 = metric(address, "patchwork_sql_statements_total"), metric(address, requests_200)
            cpu0 = cpu_seconds(server.pid)
            say(f"{name}: {seconds} s at {conns} connections")
            r = run_wrk(address, script, data, seconds, conns, *more)
            cpu1 = cpu_seconds(server.pid)
            sql1, req1 = metric(address, "patchwork_sql_statements_total"), metric(address, requests_200)
            return figures(r, max(1.0, req1 - req0), sql1 - sql0, cpu1 - cpu0, peak_rss_mb(server.pid))

        def measure_peer(script, seconds, conns):
            """The same for the peer: CPU and peak RSS summed over its processes, requests as
            wrk counted them, statements as PostgreSQL counted transactions."""
            for pid in peer_pids:
                reset_peak_rss(pid)
            say("postgraphile_team: warming up")
            run_wrk(peer_address, script, data, 3, conns)
            tx0, cpu0 = transactions(url), cpu_of(peer_pids)
            say(f"postgraphile_team: {seconds} s at {conns} connections")
            r = run_wrk(peer_address, script, data, seconds, conns)
            cpu1, tx1 = cpu_of(peer_pids), transactions(url)
            if peer.poll() is not None:
                sys.exit(f"bench: the peer stopped during the run; see {TARGET}/bench-peer.log")
            return figures(r, max(1.0, r["requests"]), tx1 - tx0, cpu1 - cpu0, rss_of(peer_pids))

        peer = None
        try:
            for name, seconds, conns in [p for p in plan if not ONLY or p[0] in ONLY]:
                script = lua_script(name)
                if name != "team":
                    more = []
                    if name == "writes":
                        # Versions move with every update: read them afresh before each run.
                        more = [os.path.join(tmp, "tasks.tsv"), str(WRK_THREADS)]
                        say(f"writes: {write_tasks(url, tokens, more[0])} tasks to update")
                    scenarios.append(combine(name, [measure(name, script, seconds, conns, more)]))
                    continue

                # The team screen, in ROUNDS rounds; with the peer, each round runs Patchwork
                # then the peer, same children, same wrk settings.
                if PEER:
                    peer_port = free_port()
                    peer_address = f"http://127.0.0.1:{peer_port}"
                    say(f"peer: PostGraphile {peer_version}, {PEER_WORKERS} processes (node:cluster) "
                        f"on Node.js {node_version}")
                    statement = peer_statement(node, url, pairs[0][1])
                    peer, peer_pids = start_peer(node, url, peer_port)
                    check_peer(address, peer_address, url, data_lines)
                    peer_script = lua_script("postgraphile_team")
                ours, theirs = [], []
                for k in range(ROUNDS):
                    if ROUNDS > 1:
                        say(f"team: round {k + 1} of {ROUNDS}")
                    ours.append(measure("team", script, seconds, conns))
                    if PEER:
                        theirs.append(measure_peer(peer_script, seconds, conns))
                team = combine("team", ours, target=f"Patchwork (release build, 1 process, "
                                                    f"pool of {env['DATABASE_POOL_SIZE']})")
                scenarios.append(team)
                if PEER:
                    stop(peer)
                    peer = None
                # The ceiling: the same statements straight at PostgreSQL, at the same
                # concurrency and for as long (bench/team.pgbench).
                n_pairs = write_pairs(url, pairs)
                # The server's read events per audit insert in the team scenario: every
                # statement beyond one read per screen is an insert of a batch.
                sql = sum(r["sql"] for r in ours)
                served = sum(r["served"] for r in ours)
                batch = min(64, max(1, round(served / (sql - served)))) if sql > served else 1
                team["audit_batch"] = batch
                for mode, key in (("prepared", "ceiling_rps"), ("simple", "ceiling_simple_rps")):
                    say(f"team ceiling: pgbench -M {mode}, {seconds} s at {conns} clients, "
                        f"{n_pairs} pairs, read events inserted {batch} at a time")
                    tps, _ = run_pgbench(pgbench, url, mode, seconds, conns, n_pairs, batch)
                    team[key] = round(tps, 1)
                team["of_ceiling"] = round(team["rps"] / team["ceiling_rps"], 3)
                if PEER:
                    entry = combine("postgraphile_team", theirs, target=(
                        f"PostGraphile {peer_version} (amber preset, grafserv on node:http), "
                        f"Node.js {node_version}, {PEER_WORKERS} processes (node:cluster), pool of "
                        f"{max(1, int(env['DATABASE_POOL_SIZE']) // PEER_WORKERS)} each; "
                        f"no access rules, no audit"))
                    entry["sql_per_request_source"] = "pg_stat_database transactions (approximate)"
                    if statement:
                        say(f"peer ceiling: its one statement with pgbench -M prepared, {seconds} s "
                            f"at {conns} clients, {n_pairs} pairs")
                        tps = run_peer_pgbench(pgbench, url, statement, seconds, conns, n_pairs,
                                               os.path.join(tmp, "postgraphile_team.pgbench"))
                        if tps:
                            entry["ceiling_rps"] = round(tps, 1)
                            entry["of_ceiling"] = round(entry["rps"] / tps, 3)
                    else:
                        say("peer ceiling: skipped (the peer's statement was not found, or has "
                            "parameters other than the child and the status)")
                    scenarios.append(entry)
                    top["team_over_postgraphile"] = round(team["rps"] / entry["rps"], 3)
                    top["peer"] = {"name": "PostGraphile", "version": peer_version,
                                   "node": node_version, "processes": PEER_WORKERS,
                                   "query": PEER_TEAM, "statement": statement}
        finally:
            if peer is not None:
                stop(peer)
        result = {"machine": machine(), "scale": SCALE, "date": datetime.now().date().isoformat(),
                  "connections": CONNECTIONS, "duration_s": DURATION, "rounds": ROUNDS,
                  "generation_s": None if generation is None else round(generation),
                  **top, "scenarios": scenarios}
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results", "latest.json"), "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"{'scenario':<18} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'errors':>7} {'SQL/req':>8} {'CPU ms/req':>10} {'RSS MB':>7} {'raw SQL/s':>10} "
              f"{'of raw SQL':>11}")
        for s in scenarios:
            ceiling = s["ceiling_rps"]
            ratio = f"{s['rps'] / ceiling:.0%}" if ceiling else "-"
            print(f"{s['name']:<18} {s['rps']:>9} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8} "
                  f"{s['errors']:>7} {s['sql_per_request']:>8} {s['cpu_ms_per_request']:>10} "
                  f"{s['peak_rss_mb']:>7} {ceiling or '-':>10} {ratio:>11}")
        for s in scenarios:
            if s.get("rounds"):
                print(f"{s['name']}: req/s by round " + " · ".join(str(r["rps"]) for r in s["rounds"]))
        for s in scenarios:
            if s["name"] == "team":
                print(f"team: raw SQL is pgbench with bench/team.pgbench and "
                      f"bench/audit_batch.pgbench (read events inserted {s['audit_batch']} at a "
                      f"time, as the server did) at {CONNECTIONS} clients, prepared "
                      f"({s['ceiling_rps']}/s); unprepared: {s['ceiling_simple_rps']}/s")
            if s["name"] == "postgraphile_team":
                print(f"postgraphile_team: {s['target']}; raw SQL is its one statement, prepared "
                      f"({s['ceiling_rps'] or '-'}/s); SQL/req from PostgreSQL's transaction count")
        if "team_over_postgraphile" in top:
            print(f"team / postgraphile_team: {top['team_over_postgraphile']} "
                  f"(req/s, {ROUNDS} alternating rounds each)")
        print(f"({machine()}; scale {SCALE}; {CONNECTIONS} connections; results in bench/results/latest.json)")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

if __name__ == "__main__":
    main()
