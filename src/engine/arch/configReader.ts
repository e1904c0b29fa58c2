// Typed reading of config.json fields, each failure one UserError naming the file and the field.
import { UserError } from '../types';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The largest dimension a config may give (int32: no real model comes near it, and sizes stay exact). */
export const MAX_DIM = 2 ** 31 - 1;

/**
 * A config value for a one-line message: JSON, cut after 60 characters; numbers as JavaScript writes them (NaN,
 * Infinity); a value too deeply nested to write is described instead.
 */
export function preview(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '(a deeply nested list)' : '(a deeply nested object)';
  }
  // JSON escapes the control characters of strings; U+2028/2029 (line separators) it leaves as they are
  s = s.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

export class ConfigReader {
  constructor(
    private readonly obj: Json,
    readonly file: string,
    private readonly prefix = '',
  ) {}

  fail(key: string, what: string): never {
    throw new UserError(`${this.file}: "${this.prefix}${key}" ${what}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  int(key: string, dflt?: number, min = 1): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(key, 'is missing');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `must be an integer (got ${preview(v)})`);
    if (v < min) this.fail(key, `must be at least ${min} (got ${v})`);
    if (v > MAX_DIM) this.fail(key, `must be at most ${MAX_DIM} (got ${v})`);
    return v;
  }

  num(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, `must be a positive number (got ${preview(v)})`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false (got ${preview(v)})`);
    return v;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    return typeof v === 'string' ? v : undefined;
  }

  /** A nested object (absent → empty). */
  sub(key: string): ConfigReader {
    const v = this.obj[key];
    if (v !== undefined && v !== null && !isObject(v)) this.fail(key, 'must be an object');
    return new ConfigReader(isObject(v) ? v : {}, this.file, `${this.prefix}${key}.`);
  }
}
