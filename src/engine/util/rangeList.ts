// Lists of non-negative integers and inclusive ranges ('3,5,8-11' → 3, 5, 8, 9, 10, 11), as --channels, --features
// heads:/channels: and --steer take them. One parser; each caller words its own errors.
import { UserError } from '../types';

export interface RangeListMessages {
  /** an item that is not an integer or a range */
  notAList: () => string;
  /** a range whose end is below its start */
  empty: (range: string) => string;
  /** a range of more than a million values */
  tooLong: (range: string) => string;
}

export interface RangeListOptions {
  /** allow spaces around the numbers and the dash ('3 - 5') */
  spaced?: boolean;
  /** sort ascending and drop repeats (default: the order given, repeats kept) */
  unique?: boolean;
}

export function expandRangeList(v: string, msg: RangeListMessages, opts: RangeListOptions = {}): number[] {
  const item = opts.spaced ? /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/ : /^(\d+)(?:-(\d+))?$/;
  const out: number[] = [];
  for (const part of v.split(',')) {
    const m = item.exec(opts.spaced ? part : part.trim());
    if (!m) throw new UserError(msg.notAList());
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UserError(msg.empty(part.trim()));
    if (b - a > 1_000_000) throw new UserError(msg.tooLong(part.trim()));
    for (let x = a; x <= b; x++) out.push(x);
  }
  return opts.unique ? Array.from(new Set(out)).sort((x, y) => x - y) : out;
}
