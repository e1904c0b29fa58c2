// Minimal, strict argument parsing for the CLI: `--name value`, `--flag`, positionals.
import { UserError } from '../engine/types';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], flags: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (eq >= 0) options.set(name, a.slice(eq + 1));
      else if (flags.has(name)) options.set(name, true);
      else {
        const v = argv[i + 1];
        if (v === undefined) throw new UserError(`option --${name} needs a value`);
        options.set(name, v);
        i++;
      }
    } else positionals.push(a);
  }
  return { positionals, options };
}

export class Options {
  constructor(private readonly parsed: ParsedArgs, private readonly known: ReadonlySet<string>) {
    for (const k of parsed.options.keys()) if (!known.has(k)) throw new UserError(`unknown option --${k}`);
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
    return v;
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
  const out: number[] = [];
  for (const part of v.split(',')) {
    const s = part.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) throw new UserError(`${what} must be a list of integers and ranges such as 3,5,8-11, got '${v}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UserError(`${what}: range ${s} is empty (its end is below its start)`);
    if (b - a > 1_000_000) throw new UserError(`${what}: range ${s} is too long`);
    for (let x = a; x <= b; x++) out.push(x);
  }
  return out;
}
