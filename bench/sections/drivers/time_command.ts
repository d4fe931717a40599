/**
 * Time a command from spawn to exit, on the host it runs on (so the time does not include
 * entering a test host's namespaces):
 *   node bench/sections/drivers/time_command.ts CMD [ARGS...]
 * Prints one JSON line { ms } when the command exits 0; otherwise prints what it wrote and exits
 * with its code.
 */
import { spawn } from "node:child_process";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) throw new Error("usage: time_command.ts CMD [ARGS...]");

let output = "";
const t0 = performance.now();
const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
child.stdout.on("data", (d: Buffer) => { output += d.toString(); });
child.stderr.on("data", (d: Buffer) => { output += d.toString(); });
const code = await new Promise<number>((resolve, reject) => {
  child.once("error", reject);
  child.once("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
});
const ms = performance.now() - t0;
if (code !== 0) {
  process.stderr.write(`${cmd} ${args.join(" ")} exited with code ${code}:\n${output}`);
  process.exit(code);
}
process.stdout.write(`${JSON.stringify({ ms })}\n`);
