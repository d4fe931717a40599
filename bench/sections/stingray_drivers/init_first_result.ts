/**
 * One sample of `local_cluster_init_ms`: a fresh process calls `init()` (which starts a GCS and a
 * raylet) and gets the result of one no-op task (which starts a worker). Prints the time in ms.
 */
import * as ray from "../../../src/api/index.ts";

const t0 = performance.now();
await ray.init({ logToDriver: false });
await ray.get(ray.remote(() => 0).remote());
const ms = performance.now() - t0;
await ray.shutdown();
process.stdout.write(`${JSON.stringify({ ms })}\n`);
