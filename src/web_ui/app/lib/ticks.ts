/**
 * @module web_ui/lib/ticks
 * Round axis ticks for the charts (pure; unit-tested in test/unit/web_ui_logic.test.ts).
 */

/** 0, then round steps (1, 2, 2.5, 5 × 10^k) up to at least `max`. */
export function niceTicks(max: number, n = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Round ticks in the binary unit that fits `max` (so 40 GiB, not 42.9 GB). */
export function byteTicks(max: number, n = 4): number[] {
  let scale = 1;
  while (max / scale >= 1024) scale *= 1024;
  return niceTicks(max / scale, n).map((t) => t * scale);
}
