/** Command-line numbers of the benchmarks: each a positive whole number, or exit 2 naming it. */
export function wholeNumbers<K extends string>(values: Record<K, string | undefined>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of Object.keys(values) as K[]) {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 1) {
      console.error(`--${k} must be a positive whole number`);
      process.exit(2);
    }
    out[k] = v;
  }
  return out;
}
