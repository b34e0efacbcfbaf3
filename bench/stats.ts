/** Summary statistics the benchmarks print. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const hi = s[mid];
  const lo = s.length % 2 ? hi : s[mid - 1];
  if (hi === undefined || lo === undefined) return NaN;
  return (lo + hi) / 2;
}

export interface Stats {
  min: number;
  median: number;
  max: number;
}

/** Min, median and max, rounded to hundredths. */
export function stats(xs: readonly number[]): Stats {
  const r = (x: number) => Math.round(x * 100) / 100;
  return { min: r(Math.min(...xs)), median: r(median(xs)), max: r(Math.max(...xs)) };
}
