// Starts the Spotlight sidecar (@spotlightjs/spotlight, installed by run.sh) the way its CLI
// does, with two differences: without its dist/instrument.js, which would send Spotlight's own
// telemetry to sentry.io, and listening on loopback only (the CLI binds every interface).
// Usage: SPOTLIGHT_DIST=.../node_modules/@spotlightjs/spotlight/dist node spotlight.mjs -p PORT
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === "object") {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    if (typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
    else args[1] = "127.0.0.1";
  }
  return listen.apply(this, args);
};

const dist = process.env.SPOTLIGHT_DIST;
if (!dist) throw new Error("SPOTLIGHT_DIST is not set");
// The UI the CLI serves, so the events can be looked at in a browser too.
const ui = join(dist, "ui");
const filesToServe = Object.create(null);
const manifest = JSON.parse(readFileSync(join(ui, "manifest.json"), "utf8"));
filesToServe["index.html"] = readFileSync(join(ui, "index.html"));
for (const entry of Object.values(manifest)) {
  if (entry && typeof entry.file === "string") filesToServe[entry.file] = readFileSync(join(ui, entry.file));
}
const { main } = await import(join(dist, "server/cli.js"));
await main({ basePath: process.cwd(), filesToServe });
