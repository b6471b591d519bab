// The peer `make bench` measures the team screen against: PostGraphile 5 (amber preset) over
// the bench county's database, served by grafserv on node:http, as a cluster of
// PEER_WORKERS processes (node:cluster) sharing one port. No access rules, no audit: whatever
// the schema exposes, anyone may read.
//
// Environment: PEER_DATABASE_URL, PEER_PORT, PEER_HOST (127.0.0.1), PEER_WORKERS (2),
// PEER_POOL_SIZE (PostgreSQL connections per worker, 16). The primary writes one line
// "ready <worker pids>" to stdout once every worker listens; if a worker dies the primary
// stops the others and exits non-zero, so a measurement never runs on fewer processes than
// it names.
import cluster from "node:cluster";
import { createServer } from "node:http";

const workers = Number(process.env.PEER_WORKERS || 2);
const port = Number(process.env.PEER_PORT);
const host = process.env.PEER_HOST || "127.0.0.1";

if (!process.env.PEER_DATABASE_URL || !port) {
  console.error("peer: PEER_DATABASE_URL and PEER_PORT are required");
  process.exit(2);
}

if (cluster.isPrimary) {
  let listening = 0;
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
    setTimeout(() => process.exit(code), 2000).unref();
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers).length === 0) process.exit(code);
    });
  };
  cluster.on("listening", () => {
    listening += 1;
    if (listening === workers) {
      const pids = Object.values(cluster.workers).map((w) => w.process.pid);
      process.stdout.write(`ready ${pids.join(" ")}\n`);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      console.error(`peer: worker ${worker.process.pid} died (${signal || code}); stopping`);
      stop(1);
    }
  });
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  // Loaded by the workers only: the primary forks and watches, and stays small.
  const { postgraphile } = await import("postgraphile");
  const { PostGraphileAmberPreset } = await import("postgraphile/presets/amber");
  const { makePgService } = await import("postgraphile/adaptors/pg");
  const { grafserv } = await import("postgraphile/grafserv/node");

  const preset = {
    extends: [PostGraphileAmberPreset],
    // PostGraphile 5 offers conditions and orderings only on indexed columns; the team screen
    // filters involvements on ended_on (indexed only in a partial index's predicate) and
    // orders as Patchwork does.
    disablePlugins: ["PgIndexBehaviorsPlugin"],
    pgServices: [
      makePgService({
        connectionString: process.env.PEER_DATABASE_URL,
        schemas: ["public"],
        poolConfig: { max: Number(process.env.PEER_POOL_SIZE || 16) },
      }),
    ],
    // As a production deployment runs it: no GraphiQL, no explain, no schema watching.
    grafserv: { graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on("error", (e) => {
    console.error(`peer: ${e.message}`);
    process.exit(1);
  });
  // Builds the schema (introspection) before the port is taken, so "listening" means ready.
  await pgl.getSchema();
  await serv.addTo(server);
  server.keepAliveTimeout = 65_000;
  server.listen(port, host);
  process.on("SIGTERM", () => {
    server.close();
    pgl.release().finally(() => process.exit(0));
  });
}
