#!/usr/bin/env python3
"""`make bench`: a fictional county in its own database, the release server, and wrk.

Environment: SCALE (1 = 200,000 children; 0.1 and 5 are the other sizes), BENCH_DURATION
(seconds per scenario, default 20), BENCH_CONNECTIONS (default 32), BENCH_USERS (signed-in
practitioners the load is spread over, default 200), BENCH_PEER (`off` skips PostGraphile),
BENCH_ROUNDS (alternating rounds of the team screen and PostGraphile's, default 2). Writes
bench/results/latest.json and prints a table. Standard library only.
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
import time
import urllib.request
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "patchwork")
PASSWORD = "bench-county-password-2026"
SCALE = float(os.environ.get("SCALE", "1"))
DURATION = int(os.environ.get("BENCH_DURATION", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
USERS = int(os.environ.get("BENCH_USERS", "200"))
# A comma-separated subset of the scenarios, e.g. BENCH_ONLY=team,login.
ONLY = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
PEER = os.environ.get("BENCH_PEER", "on") != "off"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
PEER_WORKERS = 2

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
# The same screen from PostGraphile's generated API: the child (names from its latest
# identity), its active involvements with practitioner and agency, its open tasks with the
# assignee. No access rule and no audit: PostGraphile has none.
PEER_TEAM = """query Team($id: UUID!) {
  childByRowId(rowId: $id) { dateOfBirth
    childIdentitiesByChildId(first: 1, orderBy: RECORDED_AT_DESC) { nodes { givenName familyName } }
    involvementsByChildId(condition: { endedOn: null }) { nodes {
      role sensitivity isLead lastContactAt nextContactAt
      practitionerByPractitionerId { displayName jobTitle email phone mobile
        agencyByAgencyId { name kind } } } }
    tasksByChildId(condition: { status: "OPEN" }) { nodes {
      title dueOn practitionerByAssigneeId { displayName } } } } }"""


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def psql(url, *args, **kw):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atq", *args],
                          check=True, capture_output=True, text=True, **kw).stdout.strip()


def with_db(url, name):
    return re.sub(r"/[^/?]*(\?.*)?$", lambda m: f"/{name}{m.group(1) or ''}", url)


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


def family(pid):
    """A process and its children (a Node cluster: the primary and its workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [pid, *map(int, f.read().split())]
    except OSError:
        return [pid]


def start_peer(url):
    """PostGraphile 5 over the county (bench/peer), PEER_WORKERS processes; its address."""
    node = subprocess.run([os.path.join(ROOT, "scripts", "node.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()
    npm = os.path.join(TARGET, "node22", "npm", "bin", "npm-cli.js")
    home = os.path.join(TARGET, "bench-peer")
    os.makedirs(home, exist_ok=True)
    fresh = False
    for name in ("package.json", "package-lock.json", "server.mjs"):
        source = open(os.path.join(ROOT, "bench", "peer", name), "rb").read()
        target = os.path.join(home, name)
        if not os.path.exists(target) or open(target, "rb").read() != source:
            open(target, "wb").write(source)
            fresh = fresh or name != "server.mjs"
    if fresh or not os.path.isdir(os.path.join(home, "node_modules")):
        say("installing PostGraphile (npm ci)")
        subprocess.run([node, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=home, check=True, capture_output=True)
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    peer = subprocess.Popen([node, "server.mjs", str(port), url, str(PEER_WORKERS)], cwd=home,
                            env={**os.environ, "GRAPHILE_ENV": "production"},
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(TARGET, "bench-peer.log"), "w"))
    for _ in range(600):
        try:
            post(address, "{ __typename }")
            return peer, address
        except OSError:
            if peer.poll() is not None:
                sys.exit("bench: PostGraphile did not start (target/bench-peer.log)")
            time.sleep(0.1)
    peer.kill()
    sys.exit("bench: PostGraphile did not answer (target/bench-peer.log)")


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
    if kind == "team":
        pre, post_ = parts(TEAM, {"id": "@@"}).split("@@")
        return f"function body(r) return {lua_string(pre)} .. r[2] .. {lua_string(post_)} end"
    if kind == "postgraphile_team":
        pre, post_ = parts(PEER_TEAM, {"id": "@@"}).split("@@")
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


def run_pgbench(pgbench, url, mode, seconds, clients, pairs):
    """tps of bench/team.pgbench in `mode` (prepared or simple) over `pairs` rows of
    bench_pairs; a failed run stops the bench with pgbench's first error."""
    cmd = [pgbench, "-n", "-M", mode, "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-D", f"pairs={pairs}", "-D", f"quote={int(mode == 'simple')}",
           "-f", os.path.join(ROOT, "bench", "team.pgbench"), url]
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
    return float(tps.group(1)), float(latency.group(1)) if latency else None


def measure(address, script, data, seconds, conns, pids):
    """One wrk run against `address`, with the CPU and peak RSS of the processes `pids`."""
    for pid in pids:
        reset_peak_rss(pid)
    cpu0 = sum(cpu_seconds(pid) for pid in pids)
    r = run_wrk(address, script, data, seconds, conns)
    cpu1 = sum(cpu_seconds(pid) for pid in pids)
    served = max(1, r["requests"])
    return {
        "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
        "p50_ms": round(r["p50_us"] / 1000, 2),
        "p95_ms": round(r["p95_us"] / 1000, 2),
        "p99_ms": round(r["p99_us"] / 1000, 2),
        "errors": r["errors"] + r["socket_errors"],
        "cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / served, 3),
        "peak_rss_mb": round(sum(peak_rss_mb(pid) or 0 for pid in pids), 1),
    }


def race_peer(url, address, server, tmp, data, pairs, scenarios):
    """PostGraphile's team screen and Patchwork's, in alternating rounds at the same load over
    the same children; adds `postgraphile_team` (means of its rounds) to `scenarios`."""
    peer, peer_address = start_peer(url)
    try:
        # The peer must answer the same screens: no error, and at least the members a
        # Patchwork reader sees (it applies no rule, so it may show more).
        for email, child in pairs[:5]:
            answer = post(peer_address, PEER_TEAM, {"id": child})
            found = (answer.get("data") or {}).get("childByRowId")
            if answer.get("errors") or not found or not found["involvementsByChildId"]["nodes"]:
                sys.exit(f"bench: PostGraphile's team screen is not the same screen: {answer}")
        scripts = {}
        for name in ("team", "postgraphile_team"):
            scripts[name] = os.path.join(tmp, f"race-{name}.lua")
            with open(scripts[name], "w") as f:
                f.write(LUA + "\n" + body_lua(name) + "\n")
        targets = {"team": (address, [server.pid]),
                   "postgraphile_team": (peer_address, family(peer.pid))}
        rounds = []
        for n in range(1, ROUNDS + 1):
            for name in ("team", "postgraphile_team"):
                where, pids = targets[name]
                say(f"round {n}: {name}: warming up, then {DURATION} s at {CONNECTIONS} connections")
                run_wrk(where, scripts[name], data, 3, CONNECTIONS)
                rounds.append({"round": n, "name": name,
                               **measure(where, scripts[name], data, DURATION, CONNECTIONS, pids)})
        mine = [r for r in rounds if r["name"] == "postgraphile_team"]
        mean = {k: round(sum(r[k] for r in mine) / len(mine), 3)
                for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request", "peak_rss_mb")}
        scenarios.append({"name": "postgraphile_team", **mean,
                          "errors": sum(r["errors"] for r in mine), "sql_per_request": None,
                          "ceiling_rps": None, "processes": PEER_WORKERS})
        return rounds
    finally:
        peer.send_signal(signal.SIGTERM)
        try:
            peer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            peer.kill()


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
        plan = [("team", DURATION, CONNECTIONS), ("my_children", DURATION, CONNECTIONS),
                ("my_tasks", DURATION, CONNECTIONS), ("search", DURATION, CONNECTIONS),
                ("writes", DURATION, CONNECTIONS), ("login", max(5, DURATION // 2), CONNECTIONS)]
        for name, seconds, conns in [p for p in plan if not ONLY or p[0] in ONLY]:
            script = os.path.join(tmp, f"{name}.lua")
            with open(script, "w") as f:
                f.write(LUA + "\n" + body_lua(name) + "\n")
            more = []
            if name == "writes":
                # Versions move with every update: read them afresh before each run.
                more = [os.path.join(tmp, "tasks.tsv"), str(WRK_THREADS)]
                say(f"writes: {write_tasks(url, tokens, more[0])} tasks to update")
            reset_peak_rss(server.pid)
            say(f"{name}: warming up")
            run_wrk(address, script, data, 3, conns, *more)
            if name == "writes":
                time.sleep(1)  # let the server finish what wrk left in flight
                write_tasks(url, tokens, more[0])
            sql0, req0 = metric(address, "patchwork_sql_statements_total"), \
                metric(address, 'patchwork_http_requests_total{method="POST",route="/graphql",status="200"}')
            cpu0 = cpu_seconds(server.pid)
            say(f"{name}: {seconds} s at {conns} connections")
            r = run_wrk(address, script, data, seconds, conns, *more)
            cpu1 = cpu_seconds(server.pid)
            sql1, req1 = metric(address, "patchwork_sql_statements_total"), \
                metric(address, 'patchwork_http_requests_total{method="POST",route="/graphql",status="200"}')
            served = max(1.0, req1 - req0)
            scenarios.append({
                "name": name,
                "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
                "p50_ms": round(r["p50_us"] / 1000, 2),
                "p95_ms": round(r["p95_us"] / 1000, 2),
                "p99_ms": round(r["p99_us"] / 1000, 2),
                "errors": r["errors"] + r["socket_errors"],
                "sql_per_request": round((sql1 - sql0) / served, 2),
                "cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / served, 3),
                "peak_rss_mb": round(peak_rss_mb(server.pid), 1),
                "ceiling_rps": None,
            })
            if name == "team":
                # The ceiling: the same statements straight at PostgreSQL, at the same
                # concurrency and for as long (bench/team.pgbench).
                n_pairs = write_pairs(url, pairs)
                for mode, key in (("prepared", "ceiling_rps"), ("simple", "ceiling_simple_rps")):
                    say(f"team ceiling: pgbench -M {mode}, {seconds} s at {conns} clients, "
                        f"{n_pairs} pairs")
                    tps, _ = run_pgbench(pgbench, url, mode, seconds, conns, n_pairs)
                    scenarios[-1][key] = round(tps, 1)
                scenarios[-1]["of_ceiling"] = round(scenarios[-1]["rps"] / scenarios[-1]["ceiling_rps"], 3)
        peer_rounds = []
        if PEER and any(sc["name"] == "team" for sc in scenarios):
            peer_rounds = race_peer(url, address, server, tmp, data, pairs, scenarios)
        result = {"machine": machine(), "scale": SCALE, "date": datetime.now().date().isoformat(),
                  "connections": CONNECTIONS, "duration_s": DURATION,
                  "generation_s": None if generation is None else round(generation),
                  "scenarios": scenarios}
        if peer_rounds:
            mean = lambda name: sum(r["rps"] for r in peer_rounds if r["name"] == name) / ROUNDS
            result["team_over_postgraphile"] = round(mean("team") / mean("postgraphile_team"), 3)
            result["rounds"] = peer_rounds
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results", "latest.json"), "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"{'scenario':<12} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'errors':>7} {'SQL/req':>8} {'CPU ms/req':>10} {'RSS MB':>7} {'raw SQL/s':>10} "
              f"{'Patchwork / raw SQL':>20}")
        for s in scenarios:
            ceiling = s["ceiling_rps"]
            ratio = f"{s['rps'] / ceiling:.0%}" if ceiling else "-"
            print(f"{s['name']:<12} {s['rps']:>9} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8} "
                  f"{s['errors']:>7} {s['sql_per_request'] or '-':>8} {s['cpu_ms_per_request']:>10} "
                  f"{s['peak_rss_mb']:>7} {ceiling or '-':>10} {ratio:>20}")
        for s in scenarios:
            if s["ceiling_rps"]:
                print(f"{s['name']}: raw SQL is pgbench with bench/team.pgbench at {CONNECTIONS} "
                      f"clients, prepared ({s['ceiling_rps']}/s); unprepared: "
                      f"{s['ceiling_simple_rps']}/s")
        for r in peer_rounds:
            print(f"round {r['round']}: {r['name']:<18} {r['rps']:>9} req/s, p50 {r['p50_ms']} ms, "
                  f"p99 {r['p99_ms']} ms, CPU {r['cpu_ms_per_request']} ms/req, "
                  f"RSS {r['peak_rss_mb']} MB")
        if peer_rounds:
            print(f"team / PostGraphile ({PEER_WORKERS} processes), mean of {ROUNDS} alternating "
                  f"rounds: {result['team_over_postgraphile']}")
        print(f"({machine()}; scale {SCALE}; {CONNECTIONS} connections; results in bench/results/latest.json)")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
