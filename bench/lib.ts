/** Small helpers shared by the benchmarks: medians and a plain table. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function table(rows: Array<Record<string, string | number>>): string {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => cell(r[c] ?? '')))),
  ].join('\n');
}

export const runs = (fallback: number) => Math.max(1, Number(process.env.BENCH_RUNS ?? fallback));

/**
 * One row per step and way: median, min, max and the ratio of the median to the peer's median
 * (the peer measured in the same run: kubectl, the helm CLI…).
 */
export function ratioRows<S extends string>(
  times: Record<string, Record<S, number[]>>,
  steps: readonly S[],
  peer: string,
) {
  return steps.flatMap((step) =>
    Object.keys(times).map((way) => ({
      step,
      way,
      'median ms': Math.round(median(times[way]![step])),
      'min ms': Math.round(Math.min(...times[way]![step])),
      'max ms': Math.round(Math.max(...times[way]![step])),
      [`÷ ${peer}`]: Number((median(times[way]![step]) / median(times[peer]![step])).toFixed(2)),
    })),
  );
}
