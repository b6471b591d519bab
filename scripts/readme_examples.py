#!/usr/bin/env python3
"""The README's examples, run as written against the demo town, so that they cannot drift.

Every ```sh block the README marks with a `<!-- checked: ... -->` line runs, in order, in one
bash session (later blocks use what earlier ones define), against a development server over a
freshly seeded demo town, with http://127.0.0.1:8080 pointing at it. A block fails when it
exits non-zero, when an answer holds a GraphQL error or a problem, or when what the README
says of it is not what came back. Standard library only.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "debug", "patchwork")
MARK = "<!-- checked:"


def fail(msg):
    print(f"readme: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def blocks():
    lines = open(os.path.join(ROOT, "README.md")).read().split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.startswith(MARK):
            assert lines[i + 1] == "```sh", f"README line {i + 2}: a checked block must follow"
            end = lines.index("```", i + 2)
            out.append((i + 2, "\n".join(lines[i + 2:end])))
    return out


def json_lines(text):
    """Every JSON value printed, in order (curl prints one per call, often without a newline)."""
    values, decoder, i = [], json.JSONDecoder(), 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
                values.append(value)
                i = end
                continue
            except ValueError:
                pass
        i += 1
    return values


def main():
    found = blocks()
    if len(found) < 7:
        fail(f"expected the README's checked blocks, found {len(found)}")
    admin = subprocess.run([os.path.join(ROOT, "scripts", "postgres.sh")], check=True,
                           capture_output=True, text=True).stdout.strip()
    db = "patchwork_readme"
    psql = lambda sql: subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    psql(f"CREATE DATABASE {db}")
    url = re.sub(r"/[^/?]*(\?.*)?$", lambda m: f"/{db}{m.group(1) or ''}", admin)
    work = tempfile.mkdtemp(prefix="patchwork-readme-")
    os.makedirs(os.path.join(work, "var", "mail"))
    # Blocks name scripts as a user at the repository's root would.
    os.symlink(os.path.join(ROOT, "scripts"), os.path.join(work, "scripts"))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url,
           "JWT_SECRET": "readme-check-secret-" + os.urandom(16).hex(),
           "PATCHWORK_ENV": "development", "BIND_ADDR": f"127.0.0.1:{port}",
           "MAIL_DIR": os.path.join(work, "var", "mail"), "MAIL_POLL_INTERVAL": "200ms",
           "DAILY_JOBS_HOUR": "24", "RUST_LOG": "warn"}
    subprocess.run([BIN, "seed", "--fixtures", os.path.join(ROOT, "fixtures")], env=env,
                   check=True, capture_output=True)
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        script = []
        for n, (line, text) in enumerate(found):
            script.append(f"echo '@@block {n}@@'")
            script.append(text.replace("http://127.0.0.1:8080", base))
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], cwd=work,
                             env=env, capture_output=True, text=True, timeout=300)
        outputs = re.split(r"@@block \d+@@\n?", run.stdout)[1:]
        if run.returncode != 0:
            fail(f"the examples stopped (exit {run.returncode}): {run.stderr[-2000:]}")
        if len(outputs) != len(found):
            fail(f"expected {len(found)} blocks' output, got {len(outputs)}")
        for (line, _), out in zip(found, outputs):
            for value in json_lines(out):
                if isinstance(value, dict) and (value.get("errors") or "code" in value
                                                or "error" in value):
                    fail(f"the block at README line {line} answered an error: {value}")
        checks(found, [json_lines(o) for o in outputs], outputs)
        print(f"readme: {len(found)} checked blocks ran as written against the demo town")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def checks(found, values, raw):
    """What the README says each block shows."""
    def block(prefix):
        for (_, text), vals, out in zip(found, values, raw):
            if text.startswith(prefix):
                return vals, out
        fail(f"no checked block starts with {prefix!r}")

    curl = "curl -s http://127.0.0.1:8080/graphql -H 'content-type: application/json' \\\n"
    first, _ = block(curl + "  -d '{\"query\":\"mutation { login(")
    me = first[-1]["data"]["me"]
    if me["role"] != "SYSTEM_ADMIN":
        fail(f"the first query signs in a system admin: {me}")

    teams, _ = block("login() {")
    tom, amira, megan, olamide = (v["data"]["child"] for v in teams)
    sens = lambda child: [m["sensitivity"] for m in child["team"]]
    if len(tom["team"]) != 5 or "RESTRICTED" not in sens(tom):
        fail(f"Tom sees five people, the IDVA among them: {tom['team']}")
    if len(amira["team"]) != 4 or "RESTRICTED" in sens(amira):
        fail(f"Amira sees four, no IDVA: {amira['team']}")
    if "RESTRICTED" not in sens(megan):
        fail(f"the IDVA sees herself: {megan['team']}")
    if olamide is not None:
        fail("Olamide is not on Leo's team: child is null")

    joined, _ = block("OLA=$(login olamide")
    found_leo, contact, olamide_team = joined[0], joined[1], joined[2]["data"]["child"]
    if not found_leo["data"]["searchChildren"]:
        fail("a search with a typo finds Leo")
    if contact["data"]["recordContact"]["kind"] != "HOME_VISIT":
        fail(f"the contact is recorded on the involvement joining gave: {contact}")
    if len(olamide_team["team"]) != 5 or "RESTRICTED" in sens(olamide_team):
        fail(f"Olamide sees five people after joining, no IDVA: {olamide_team['team']}")

    vendor, _ = block("# 1. An admin of Children's Social Care")
    team = vendor[-1]
    if not any(m["sensitivity"] == "RESTRICTED" for m in team["team"]):
        fail(f"Children's Social Care's client sees the IDVA through the agreement: {team}")

    upserts, _ = block("# A child (on Patchwork once")
    if [v.get("ref") for v in upserts] != ["MOSAIC-1001", "ALLOC-77", "VISIT-1", None]:
        fail(f"the child, the allocation and the contact by reference: {upserts}")
    if upserts[3].get("kind") != "PHONE" or upserts[3].get("involvementRef") != "ALLOC-77":
        fail(f"the contact posted with an Idempotency-Key: {upserts[3]}")

    app, out = block("# Sign in, refresh, and retry the refresh")
    renewed, retried, first_page, live_task, event = app[:5]
    if renewed["data"]["refresh"]["refreshToken"] != retried["data"]["refresh"]["refreshToken"]:
        fail(f"a retried refresh answers the same new refresh token: {renewed} {retried}")
    if out.count("PERSISTED_QUERY_NOT_FOUND") != 1:
        fail(f"an unknown hash answers PERSISTED_QUERY_NOT_FOUND: {out!r}")
    if not first_page["data"]["myChildren"]["edges"]:
        fail(f"the hash alone runs the document it was taught: {first_page}")
    if live_task["data"]["createTask"]["title"] != "Book the review meeting":
        fail(f"Tom adds a task: {live_task}")
    change = event["data"]["teamChanged"]
    if change["type"] != "task.created" or change["data"]["task"]["title"] != "Book the review meeting":
        fail(f"the subscriber hears the task it saw created: {event}")

    _, mail = block(curl + "  -H \"authorization: Bearer $(login tom")
    if ".eml" not in mail:
        fail(f"raising attention writes mail to var/mail: {mail!r}")


if __name__ == "__main__":
    main()
