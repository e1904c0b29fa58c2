// Minimal, strict argument parsing for the CLI: `--name value`, `--flag`, positionals.
import { UserError } from '../engine/types';
import { expandRangeList } from '../engine/util/rangeList';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

/**
 * Parses `--name value`, `--name=value`, flags and positionals. With `known` (the command's options and flags), an
 * option that is not known is an error — also as the last argument, where it would otherwise "need a value" — and
 * an option whose value would be another known option (`--prompt --subject X`) needs a value (use --prompt=--subject
 * for a value that starts with --).
 */
export function parseArgs(argv: string[], flags: ReadonlySet<string>, known?: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  const isKnownOption = (a: string | undefined) => a !== undefined && a.startsWith('--') && known !== undefined && known.has(a.slice(2).split('=')[0]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (known && !known.has(name)) throw new UserError(`unknown option --${name}${suggest(name, known)}`);
      if (eq >= 0) {
        if (flags.has(name)) throw new UserError(`option --${name} takes no value`);
        setValue(options, name, a.slice(eq + 1));
      } else if (flags.has(name)) options.set(name, true);
      else {
        const v = argv[i + 1];
        if (v === undefined || isKnownOption(v)) throw new UserError(`option --${name} needs a value`);
        setValue(options, name, v);
        i++;
      }
    } else positionals.push(a);
  }
  return { positionals, options };
}

/** Separates the values of an option given several times (Options.strings); Options.string takes the last. */
const REPEAT = '\u0001';

function setValue(options: Map<string, string | true>, name: string, v: string): void {
  const prev = options.get(name);
  options.set(name, typeof prev === 'string' ? prev + REPEAT + v : v);
}

/** ' (did you mean --window?)' for a near miss of a known option, else ''. */
function suggest(name: string, known: ReadonlySet<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean --${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return dp[b.length];
}

export class Options {
  constructor(private readonly parsed: ParsedArgs, private readonly known: ReadonlySet<string>) {
    for (const k of parsed.options.keys()) if (!known.has(k)) throw new UserError(`unknown option --${k}${suggest(k, known)}`);
  }
  get positionals(): string[] {
    return this.parsed.positionals;
  }
  flag(name: string): boolean {
    return this.parsed.options.get(name) === true;
  }
  string(name: string): string | undefined {
    const v = this.parsed.options.get(name);
    if (v === true) throw new UserError(`option --${name} needs a value`);
    return v === undefined ? undefined : v.slice(v.lastIndexOf(REPEAT) + 1);
  }
  /** Every value of an option that may be given several times (--steer A --steer B), in order. */
  strings(name: string): string[] {
    const v = this.parsed.options.get(name);
    if (v === true) throw new UserError(`option --${name} needs a value`);
    return v === undefined ? [] : v.split(REPEAT);
  }
  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UserError(`missing required option --${name}`);
    return v;
  }
  int(name: string, dflt?: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return dflt;
    if (!/^-?\d+$/.test(v)) throw new UserError(`option --${name} must be an integer, got '${v}'`);
    return Number(v);
  }
  intList(name: string): number[] | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    return v.split(',').map((s) => {
      if (!/^\d+$/.test(s.trim())) throw new UserError(`option --${name} must be a comma-separated list of integers, got '${v}'`);
      return Number(s.trim());
    });
  }
  /** `3,5,8-11` → [3, 5, 8, 9, 10, 11] (non-negative integers and inclusive ranges, in the order given) */
  rangeList(name: string): number[] | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    return parseRangeList(v, `--${name}`);
  }
}

/** `3,5,8-11` → [3, 5, 8, 9, 10, 11]; a bad item is one UserError naming the option. */
export function parseRangeList(v: string, what: string): number[] {
  return expandRangeList(v, {
    notAList: () => `${what} must be a list of integers and ranges such as 3,5,8-11, got '${v}'`,
    empty: (r) => `${what}: range ${r} is empty (its end is below its start)`,
    tooLong: (r) => `${what}: range ${r} is too long`,
  });
}
