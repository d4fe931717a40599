/** Piscina worker for bench/sections/peers.ts: a no-op task that returns its argument. */
export default function noop(x: unknown): unknown {
  return x;
}
