// PostGraphile 5, the peer `make bench` measures the team screen against: the county's
// database as a generated GraphQL API (amber preset: no access rules, no audit), served by
// Node's HTTP server from WORKERS processes sharing PORT (Node's cluster module).
//
//   node server.mjs <port> <database url> <workers>
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";

const [port, connectionString, workers] = process.argv.slice(2);

if (cluster.isPrimary && Number(workers) > 1) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`peer: worker ${worker.process.pid} exited (${code})`);
    process.exit(1);
  });
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    // Conditions and orders on columns without an index, as the team screen needs them.
    disablePlugins: ["PgIndexBehaviorsPlugin"],
    pgServices: [
      makePgService({
        connectionString,
        schemas: ["public"],
        // As many connections per process as Patchwork's pool, over the processes.
        poolConfig: { max: Math.max(4, Math.floor(32 / Number(workers))) },
      }),
    ],
    grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  await serv.addTo(server);
  server.listen(Number(port), "127.0.0.1");
}
