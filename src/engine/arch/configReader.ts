// Typed reading of config.json fields, each failure one UserError naming the file and the field.
import { UserError } from '../types';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `must be an integer (got ${JSON.stringify(v)})`);
    if (v < min) this.fail(key, `must be at least ${min} (got ${v})`);
    return v;
  }

  num(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, `must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false (got ${JSON.stringify(v)})`);
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
