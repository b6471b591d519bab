#!/usr/bin/env python3
"""`make scale-test`: Patchwork scaled out on one machine, proven to behave as one system.

nginx (Debian's package) in front of three `patchwork serve` processes and two `patchwork
worker` processes over one PostgreSQL database holding the demo town, with a small SMTP sink
standing in for the mail relay. Through nginx it checks that sign-in limits, search limits,
refresh-token rotation, optimistic versions and the outbox are shared by every process; drives
a mixed load while one server is killed (SIGKILL); then checks that nothing was lost or doubled:
every write that answered has its audit event, every message was delivered exactly once. Last,
it measures the team screen through nginx with one, two and three servers.

Environment: SCALE_SECONDS (load phase, default 20), SCALE_CONNECTIONS (default 16). Standard
library only. Exits non-zero on the first broken promise.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "patchwork")
SECONDS = int(os.environ.get("SCALE_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("SCALE_CONNECTIONS", "16"))
PASSWORD = "kestrel-bay-demo-2026"
LEO = "039e9a9f-55c6-552f-94ff-a3697085e6ab"
TEAM = ("query($id: ID!) { child(id: $id) { givenName team { id version role isLead practitioner { id "
        "displayName email } } tasks { title } } }")
USERS = ["tom.whitfield@kestrelbay-council.example", "amira.hassan@millbrook-primary.example",
         "daniel.osei@millbrook-primary.example", "hannah.cole@kestrelbay-police.example",
         "priya.nair@kestrelbay-council.example"]


def say(msg):
    print(f"scale-test: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    say(f"FAILED: {msg}")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    say(f"ok: {msg}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(url, sql):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def with_db(url, name):
    return re.sub(r"/[^/?]*(\?.*)?$", lambda m: f"/{name}{m.group(1) or ''}", url)


class Sink(socketserver.ThreadingTCPServer):
    """An SMTP server that accepts every message and keeps its Message-ID."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.ids = []
        self.lock = threading.Lock()


class SinkHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self.reply("220 sink ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif verb.startswith("DATA"):
                self.reply("354 go on")
                message_id = None
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b".\n", b""):
                        break
                    text = data.decode(errors="replace")
                    if text.lower().startswith("message-id:"):
                        message_id = text.split(":", 1)[1].strip()
                with self.server.lock:
                    self.server.ids.append(message_id)
                self.reply("250 queued")
            elif verb.startswith("QUIT"):
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's nginx")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], env=env,
                       capture_output=True)
        # Debian starts the packaged service where it can; this test runs its own.
        subprocess.run(["sh", "-c", "nginx -s stop 2>/dev/null || true"], capture_output=True)
        if os.path.exists("/usr/sbin/nginx"):
            return "/usr/sbin/nginx"
    fail("nginx is needed (Debian: apt-get install nginx-light)")


class Cluster:
    def __init__(self, url, smtp_port, work):
        self.url = url
        self.smtp_port = smtp_port
        self.work = work
        self.servers = {}
        self.workers = []
        self.nginx = None
        self.port = free_port()
        self.secret = "scale-test-only-secret-" + os.urandom(12).hex()

    def env(self, extra):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": self.url,
            "JWT_SECRET": self.secret,
            "PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "PATCHWORK_ENV": "production",
            "RUST_LOG": "warn",
            "DAILY_JOBS_HOUR": "24",
            "TRUSTED_PROXIES": "127.0.0.1",
            "LOGIN_MAX_FAILURES_PER_ACCOUNT": "5",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
            "SEARCH_LIMIT": "9",
            "HTTP_WORKERS": "2",
            "DATABASE_POOL_SIZE": "8",
        }
        env.update(extra)
        return env

    def start_server(self):
        port = free_port()
        proc = subprocess.Popen([BIN, "serve"], env=self.env({
            "BIND_ADDR": f"127.0.0.1:{port}", "MAIL_WORKER": "off"}),
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, f"server-{port}.log"), "w"))
        wait_healthy(f"http://127.0.0.1:{port}")
        self.servers[port] = proc
        return port

    def start_worker(self):
        proc = subprocess.Popen([BIN, "worker"], env=self.env({
            "SMTP_URL": f"smtp://127.0.0.1:{self.smtp_port}", "MAIL_POLL_INTERVAL": "100ms",
            "MAIL_LEASE": "3s"}),
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "worker.log"), "a"))
        self.workers.append(proc)

    def route(self, ports):
        """(Re)starts nginx in front of `ports`."""
        self.stop_nginx()
        upstream = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in ports)
        conf = f"""
worker_processes 1;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {self.work}/body;
  proxy_temp_path {self.work}/proxy;
  fastcgi_temp_path {self.work}/fastcgi;
  uwsgi_temp_path {self.work}/uwsgi;
  scgi_temp_path {self.work}/scgi;
  upstream patchwork {{
{upstream}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    client_max_body_size 1m;
    location / {{
      proxy_pass http://patchwork;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_next_upstream error timeout http_502;
    }}
  }}
}}
"""
        path = os.path.join(self.work, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.nginx = subprocess.Popen([nginx_binary(), "-p", self.work, "-c", path, "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(f"http://127.0.0.1:{self.port}")

    def stop_nginx(self):
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait()
            self.nginx = None

    def stop(self):
        self.stop_nginx()
        for proc in list(self.servers.values()) + self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in list(self.servers.values()) + self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_healthy(base):
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"{base} never answered /healthz")


class Client:
    """One keep-alive connection to nginx."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def gql(self, query, variables=None, token=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in range(2):
            try:
                self.conn.request("POST", "/graphql", body, headers)
                res = self.conn.getresponse()
                data = res.read()
                return res.status, (json.loads(data) if data else None)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                if attempt:
                    raise
        return None


def code(body):
    errors = (body or {}).get("errors") or []
    return (errors[0].get("extensions") or {}).get("code") if errors else None


def login(client, email, password=PASSWORD):
    status, body = client.gql("mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
                              "{ accessToken refreshToken practitioner { id } } }",
                              {"e": email, "p": password})
    return body


def shared_state_checks(cluster):
    c = Client(cluster.port)
    # Sign-in limits count across processes: five failures per account in all, wherever they land.
    target = "bethan.rhys@kestrelbay-council.example"
    codes = [code(login(Client(cluster.port), target, "wrong password")) for _ in range(7)]
    check(codes[:5] == ["UNAUTHENTICATED"] * 5 and codes[5:] == ["RATE_LIMITED"] * 2,
          f"sign-in failures are limited across all servers ({codes})")
    # Search limits likewise: nine searches per practitioner, then refused.
    tom = login(c, USERS[0])["data"]["login"]
    token = tom["accessToken"]
    results = []
    for _ in range(11):
        _, body = Client(cluster.port).gql(
            'query { searchChildren(familyName: "Marsh", dateOfBirth: "2017-05-14") { id } }', token=token)
        results.append(code(body) or "ok")
    check(results[:9] == ["ok"] * 9 and results[9:] == ["RATE_LIMITED"] * 2,
          f"search limits are shared by every server ({results})")
    # Refresh tokens rotate through any server; the old one is refused everywhere, and its
    # reuse ends the chain.
    refresh = "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }"
    first = tom["refreshToken"]
    chain = [first]
    for _ in range(4):
        _, body = Client(cluster.port).gql(refresh, {"t": chain[-1]})
        nxt = (body.get("data") or {}).get("refresh")
        check(nxt is not None, "a refresh token rotates on whichever server answers")
        chain.append(nxt["refreshToken"])
    _, body = Client(cluster.port).gql(refresh, {"t": chain[1]})
    check(code(body) == "UNAUTHENTICATED", "a rotated refresh token is refused by every server")
    _, body = Client(cluster.port).gql(refresh, {"t": chain[-1]})
    check(code(body) == "UNAUTHENTICATED", "its reuse revoked the whole chain everywhere")
    # Versions: the same expected version sent to several servers at once lets exactly one win.
    amira = login(c, USERS[1])["data"]["login"]
    _, team = c.gql(TEAM, {"id": LEO}, amira["accessToken"])
    own = next(m for m in team["data"]["child"]["team"]
               if m["practitioner"]["id"] == amira["practitioner"]["id"])
    version = own["version"]
    update = ("mutation($i: UpdateInvolvementInput!) { updateInvolvement(input: $i) { version } }")

    def attempt(n):
        _, body = Client(cluster.port).gql(update, {"i": {
            "id": own["id"], "expectedVersion": version, "role": f"Class teacher ({n})"}},
            amira["accessToken"])
        return code(body) or "ok"
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    check(outcomes.count("ok") == 1 and outcomes.count("CONFLICT") == 5,
          f"one of six concurrent updates with one version wins ({outcomes})")


def mixed_load(cluster, kill_one):
    """Team screens, contacts and raised attention from five team members, for SECONDS; one
    server is killed half-way. Returns the counts of writes that answered."""
    tokens = []
    c = Client(cluster.port)
    for email in USERS:
        data = login(c, email)["data"]["login"]
        _, team = c.gql(TEAM, {"id": LEO}, data["accessToken"])
        child = (team.get("data") or {}).get("child")
        own = [m for m in (child or {}).get("team", [])
               if m["practitioner"]["id"] == data["practitioner"]["id"]]
        if own:
            tokens.append((data["accessToken"], own[0]["id"]))
    check(len(tokens) >= 3, f"{len(tokens)} of Leo's team members sign in through nginx")
    stop = time.time() + SECONDS
    counts = {"reads": 0, "contacts": 0, "attention": 0, "errors": 0}
    lock = threading.Lock()
    contact = ("mutation($i: RecordContactInput!) { recordContact(input: $i) { id } }")
    attention = "mutation($c: ID!, $m: String!) { raiseAttention(childId: $c, message: $m) }"

    def run(n):
        client = Client(cluster.port)
        token, involvement = tokens[n % len(tokens)]
        i = 0
        while time.time() < stop:
            i += 1
            try:
                if i % 10 == 0:
                    _, body = client.gql(contact, {"i": {
                        "involvementId": involvement, "kind": "PHONE", "outcome": "HAPPENED",
                        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}, token)
                    key = "contacts"
                elif i % 37 == 0:
                    _, body = client.gql(attention, {"c": LEO, "m": f"Scale check {n}-{i}"}, token)
                    key = "attention"
                else:
                    _, body = client.gql(TEAM, {"id": LEO}, token)
                    key = "reads"
                ok = body is not None and not body.get("errors")
            except (OSError, http.client.HTTPException, ValueError):
                ok = False
            with lock:
                counts[key if ok else "errors"] += 1

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        futures = [pool.submit(run, n) for n in range(CONNECTIONS)]
        if kill_one:
            time.sleep(SECONDS / 2)
            port, victim = next(iter(cluster.servers.items()))
            victim.kill()
            victim.wait()
            del cluster.servers[port]
            say(f"killed the server on port {port} mid-run")
        for f in futures:
            f.result()
    return counts


def throughput(cluster, servers):
    cluster.route(servers)
    c = Client(cluster.port)
    token = login(c, USERS[0])["data"]["login"]["accessToken"]
    stop = time.time() + max(5, SECONDS // 2)
    done = [0]
    lock = threading.Lock()

    def run(_):
        client = Client(cluster.port)
        while time.time() < stop:
            _, body = client.gql(TEAM, {"id": LEO}, token)
            if body and not body.get("errors"):
                with lock:
                    done[0] += 1
    started = time.time()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(run, range(CONNECTIONS)))
    return done[0] / (time.time() - started)


def main():
    if not os.path.exists(BIN):
        fail(f"{BIN} is missing: run `cargo build --release --bin patchwork` first")
    admin = subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh")], check=True,
                           capture_output=True, text=True).stdout.strip()
    db = "patchwork_scale"
    psql(admin, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    psql(admin, f"CREATE DATABASE {db}")
    url = with_db(admin, db)
    subprocess.run([BIN, "seed", "--fixtures", os.path.join(ROOT, "fixtures")], check=True,
                   env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url},
                   capture_output=True)
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="patchwork-scale-")
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    cluster = Cluster(url, sink.server_address[1], work)
    try:
        ports = [cluster.start_server() for _ in range(3)]
        cluster.start_worker()
        cluster.start_worker()
        cluster.route(ports)
        say(f"nginx on {cluster.port} in front of servers {ports}, two workers, one database")
        shared_state_checks(cluster)

        audit_before = int(psql(url, "SELECT count(*) FROM audit_events WHERE action IN "
                                     "('CONTACT_RECORDED', 'ATTENTION_RAISED')"))
        counts = mixed_load(cluster, kill_one=True)
        say(f"mixed load through nginx: {counts}")
        audit_after = int(psql(url, "SELECT count(*) FROM audit_events WHERE action IN "
                                    "('CONTACT_RECORDED', 'ATTENTION_RAISED')"))
        written = counts["contacts"] + counts["attention"]
        # A write may commit and its answer die with the killed server: never fewer events
        # than answered writes, and never more than answered writes plus failed requests.
        check(written <= audit_after - audit_before <= written + counts["errors"],
              f"every write that answered has its audit event ({written} answered, "
              f"{audit_after - audit_before} recorded, {counts['errors']} failed requests)")
        check(counts["errors"] <= CONNECTIONS * 2,
              f"the killed server cost at most the requests in flight ({counts['errors']})")

        # The outbox drains through the two workers, each message once.
        for _ in range(600):
            pending = int(psql(url, "SELECT count(*) FROM notifications WHERE status IN ('PENDING')"))
            if pending == 0:
                break
            time.sleep(0.1)
        check(pending == 0, "the outbox drained")
        sent = int(psql(url, "SELECT count(*) FROM notifications WHERE status = 'SENT'"))
        with sink.lock:
            ids = [i for i in sink.ids if i]
        check(len(ids) == sent and len(set(ids)) == len(ids),
              f"{sent} messages sent, {len(ids)} received, none twice")

        # Throughput of the team screen through nginx, by number of servers.
        while len(cluster.servers) < 3:
            cluster.start_server()
        ports = list(cluster.servers)
        rates = {n: throughput(cluster, ports[:n]) for n in (1, 2, 3)}
        for n, rate in rates.items():
            say(f"team screen through nginx with {n} server(s): {rate:.0f} req/s "
                f"({os.cpu_count()} cores, {CONNECTIONS} connections)")
        print(json.dumps({"throughput": {str(n): round(r, 1) for n, r in rates.items()},
                          "mixed_load": counts}))
    finally:
        cluster.stop()
        sink.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        psql(admin, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
