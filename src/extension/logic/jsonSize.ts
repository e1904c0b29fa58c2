// Whether a value's JSON text would exceed a size, without writing it: the walk stops as soon as the count passes
// the limit, so a 100 MB dataset result costs as much as a 4 MB one (JSON.stringify(result).length on the extension
// host thread was a stall of its own for large runs, issue 16). Pure (no `vscode`).

type Frame = { values: readonly unknown[]; next: number };

const skipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * Characters of JSON.stringify(v) for plain JSON data (strings: each escaped character counts 2; \u escapes are
 * longer), counted until the count passes `limit`.
 */
export function jsonSizeAtMost(v: unknown, limit: number): number {
  let n = 0;
  const frames: Frame[] = [{ values: [v], next: 0 }];
  while (frames.length > 0 && n <= limit) {
    const f = frames[frames.length - 1];
    if (f.next >= f.values.length) {
      frames.pop();
      continue;
    }
    const x = f.values[f.next++];
    if (x === null || skipped(x)) n += 4;
    else if (typeof x === 'string') n += x.length + 2 + countEscapes(x);
    else if (typeof x === 'number') n += Number.isFinite(x) ? String(x).length : 4;
    else if (typeof x === 'boolean') n += x ? 4 : 5;
    else if (typeof x === 'bigint') n += String(x).length;
    else if (Array.isArray(x)) {
      n += 2 + Math.max(0, x.length - 1);
      frames.push({ values: x, next: 0 });
    } else if (typeof x === 'object') {
      // JSON leaves out keys whose value is undefined or a function
      const entries = Object.entries(x as object).filter(([, e]) => !skipped(e));
      n += 2 + Math.max(0, entries.length - 1);
      for (const [k] of entries) n += k.length + 3 + countEscapes(k);
      frames.push({ values: entries.map(([, e]) => e), next: 0 });
    }
  }
  return n;
}

function countEscapes(s: string): number {
  let e = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92 || c < 32) e++;
  }
  return e;
}

/** Whether JSON.stringify(v) is longer than `limit` characters (exact up to the string-escape estimate). */
export function jsonLongerThan(v: unknown, limit: number): boolean {
  return jsonSizeAtMost(v, limit) > limit;
}
