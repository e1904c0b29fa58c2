// Generators of hostile inputs for the fuzz suite: byte-level mutations of a valid file (bit flips, overwritten bytes and
// integers, insertions, deletions, duplications, truncation), and structural mutations of a parsed JSON document
// (values replaced by wrong types, huge / negative / fractional / non-finite numbers, deep nesting, enormous arrays
// and strings, removed / renamed / duplicated keys, hostile key names) serialised by a writer that can also emit what
// JSON.stringify cannot (bare NaN / Infinity, duplicate keys, raw text).
import fc from 'fast-check';

// ------------------------------------------------------------------ bytes

/** Integers that break size and offset arithmetic. */
export const INTERESTING_U32 = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
export const INTERESTING_U64 = [0n, 1n, 8n, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

export type ByteOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u16'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'u64'; at: number; value: bigint }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number; to: number }
  | { op: 'truncate'; at: number };

const pos = fc.nat({ max: 0x7fffffff });

export const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: pos, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: pos, value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('u16' as const), at: pos, value: fc.oneof(fc.constantFrom(0, 1, 0x7fff, 0xffff), fc.integer({ min: 0, max: 0xffff })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('u32' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat({ max: 0xffffffff })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('u64' as const), at: pos, value: fc.oneof(fc.constantFrom(...INTERESTING_U64), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), at: pos, len: fc.integer({ min: 1, max: 64 }), to: pos }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: pos }) },
);

/**
 * Applies byte operations; positions are taken modulo the region [from, to) of the current buffer (the whole buffer
 * when no region is given), so that a mutation can be aimed at a header.
 */
export function applyByteOps(src: Buffer, ops: readonly ByteOp[], region?: (b: Buffer) => [number, number]): Buffer {
  let b = Buffer.from(src);
  for (const o of ops) {
    const [from, to] = region ? region(b) : [0, b.length];
    const span = Math.max(1, to - from);
    const at = from + (o.at % span);
    switch (o.op) {
      case 'flip':
        if (at < b.length) b[at] ^= 1 << o.bit;
        break;
      case 'set':
        if (at < b.length) b[at] = o.value;
        break;
      case 'u16':
        if (at + 2 <= b.length) b.writeUInt16LE(o.value, at);
        break;
      case 'u32':
        if (at + 4 <= b.length) b.writeUInt32LE(o.value, at);
        break;
      case 'u64':
        if (at + 8 <= b.length) b.writeBigUInt64LE(o.value, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + o.len))]);
        break;
      case 'dup': {
        const piece = Buffer.from(b.subarray(at, at + o.len));
        const to2 = o.to % (b.length + 1);
        b = Buffer.concat([b.subarray(0, to2), piece, b.subarray(to2)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, Math.min(at, b.length));
        break;
    }
  }
  return b;
}

export const byteOps = (maxLength = 4): fc.Arbitrary<ByteOp[]> => fc.array(byteOp, { minLength: 1, maxLength });

// ------------------------------------------------------------------ JSON text that JSON.stringify cannot write

/** Emitted verbatim by `serialize` (bare NaN, Infinity, deep nesting …). */
export class Raw {
  constructor(readonly text: string) {}
}
/** An object whose keys `serialize` writes in this order, duplicates included. */
export class Entries {
  constructor(readonly entries: [string, unknown][]) {}
}

/** JSON.stringify that also writes Raw and Entries (iterative enough for the documents of the suite). */
export function serialize(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Entries) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : serialize(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`)
      .join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? 'null';
}

// ------------------------------------------------------------------ hostile values

/** Strings that break messages, markup or lookups. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '\n', 'a\nb', '\r\n', '\u2028', '\u0000', '\ud800', '\udfff', '{}', '[]', 'null', 'NaN', 'Infinity', '-1', '1e999',
    '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'; DROP TABLE x; --", '../../../etc/passwd', '/dev/zero', 'C:\\con',
    '\u202e\u0644\u0627', '\ud83d\ude00', 'e\u0301', 'ﬃ', 'Ǆ',
  ),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Numbers that break integer, size and finiteness checks. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 0.5, -0.5, 1.5, 1e-300, 5e-324, 1e21, 1e300, 1.7976931348623157e308, -1e300, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 53)),
  fc.integer(),
  fc.double(),
);

/** Non-finite numbers, written as Python's json writes them (bare literals), or as transformers 5 writes them. */
export const nonFinite: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity),
  fc.constantFrom(new Raw('1e999'), new Raw('-1e999'), new Raw('NaN'), new Raw('-NaN'), new Raw('Infinity'), new Raw('-Infinity'), new Raw('inf')),
  fc.constantFrom({ __float__: 'Infinity' }, { __float__: 'NaN' }, { __float__: '-inf' }, { __float__: 'nope' }, { __float__: 1 }),
);

/** Deep nesting, enormous arrays and strings (as raw text, so that writing them is cheap). */
export const enormous: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 1, max: 200_000 }).map((n) => new Raw('['.repeat(n) + ']'.repeat(n))),
  fc.integer({ min: 1, max: 50_000 }).map((n) => new Raw('{"a":'.repeat(n) + '1' + '}'.repeat(n))),
  fc.integer({ min: 1, max: 200_000 }).map((n) => new Raw(`[${Array(n).fill('0').join(',')}]`)),
  fc.integer({ min: 1, max: 2_000_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 30_000 }).map((n) => new Raw(`{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`)),
);

/** Any hostile JSON value. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileNumber },
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}, [[]], [null], [1, 2], { a: 1 }) },
  { weight: 2, arbitrary: nonFinite },
  { weight: 1, arbitrary: enormous },
  { weight: 2, arbitrary: fc.array(hostileNumber, { maxLength: 4 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => 'k'.repeat(n)) },
);

// ------------------------------------------------------------------ structural JSON mutations

export type JsonOp =
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'rename'; at: number; key: string }
  | { op: 'add'; at: number; key: string; value: unknown }
  | { op: 'dupKey'; at: number; value: unknown }
  | { op: 'copy'; at: number; to: number }
  | { op: 'wrap'; at: number }
  | { op: 'grow'; at: number; count: number };

export const jsonOp = (keys: fc.Arbitrary<string> = hostileKey, values: fc.Arbitrary<unknown> = hostileValue): fc.Arbitrary<JsonOp> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('replace' as const), at: pos, value: values }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), at: pos }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rename' as const), at: pos, key: keys }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), at: pos, key: keys, value: values }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('dupKey' as const), at: pos, value: values }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), at: pos, to: pos }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at: pos }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('grow' as const), at: pos, count: fc.integer({ min: 2, max: 3000 }) }) },
  );

export const jsonOps = (maxLength = 3, keys?: fc.Arbitrary<string>, values?: fc.Arbitrary<unknown>): fc.Arbitrary<JsonOp[]> =>
  fc.array(jsonOp(keys, values), { minLength: 1, maxLength });

interface Slot {
  parent: Record<string, unknown> | unknown[] | Entries | null;
  key: string | number;
}

/** Every slot (object member, array element, and the root) of a document, in document order. */
function slots(doc: { root: unknown }): Slot[] {
  const out: Slot[] = [{ parent: null, key: 'root' }];
  const walk = (v: unknown): void => {
    if (v instanceof Raw) return;
    if (v instanceof Entries) {
      v.entries.forEach((e, i) => {
        out.push({ parent: v, key: i });
        walk(e[1]);
      });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
    }
  };
  walk(doc.root);
  return out;
}

function getSlot(doc: { root: unknown }, s: Slot): unknown {
  if (s.parent === null) return doc.root;
  if (s.parent instanceof Entries) return s.parent.entries[s.key as number]?.[1];
  return (s.parent as Record<string | number, unknown>)[s.key];
}

function setSlot(doc: { root: unknown }, s: Slot, v: unknown): void {
  if (s.parent === null) doc.root = v;
  else if (s.parent instanceof Entries) s.parent.entries[s.key as number][1] = v;
  else (s.parent as Record<string | number, unknown>)[s.key] = v;
}

/** Objects become Entries (so that keys can be renamed in place and duplicated); deep copy. */
function toEntries(v: unknown): unknown {
  if (v instanceof Raw || v instanceof Entries) return v;
  if (Array.isArray(v)) return v.map(toEntries);
  if (v && typeof v === 'object') return new Entries(Object.entries(v).map(([k, x]) => [k, toEntries(x)]));
  return v;
}

/** Applies structural mutations to a copy of `value`; serialise the result with `serialize`. */
/** Past this many slots, operations that grow the document (grow, copy) are skipped: the input stays a few MB. */
const MAX_SLOTS = 100_000;

export function applyJsonOps(value: unknown, ops: readonly JsonOp[]): unknown {
  const doc = { root: toEntries(value) };
  for (const o of ops) {
    const all = slots(doc);
    if ((o.op === 'grow' || o.op === 'copy') && all.length > MAX_SLOTS) continue;
    const s = all[o.at % all.length];
    const containers = all.filter((x) => {
      const v = getSlot(doc, x);
      return v instanceof Entries || Array.isArray(v);
    });
    switch (o.op) {
      // (values are copied in: a generated constant must not be changed by a later operation, in this case or another)
      case 'replace':
        setSlot(doc, s, toEntries(o.value));
        break;
      case 'delete':
        if (s.parent instanceof Entries) s.parent.entries.splice(s.key as number, 1);
        else if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else setSlot(doc, s, undefined);
        break;
      case 'rename':
        if (s.parent instanceof Entries) s.parent.entries[s.key as number][0] = o.key;
        break;
      case 'add': {
        const c = containers.length ? getSlot(doc, containers[o.at % containers.length]) : undefined;
        if (c instanceof Entries) c.entries.push([o.key, toEntries(o.value)]);
        else if (Array.isArray(c)) c.push(toEntries(o.value));
        break;
      }
      case 'dupKey':
        // the same key again, before or after the original (JSON.parse keeps the last)
        if (s.parent instanceof Entries) {
          const [k] = s.parent.entries[s.key as number];
          s.parent.entries.splice((s.key as number) + (o.at % 2), 0, [k, toEntries(o.value)]);
        }
        break;
      case 'copy': {
        const t = all[o.to % all.length];
        setSlot(doc, t, toEntries(structuredCloneSafe(getSlot(doc, s))));
        break;
      }
      case 'wrap':
        setSlot(doc, s, [getSlot(doc, s)]);
        break;
      case 'grow': {
        // copies, not shared elements: a later operation on one must not change them all (and the size be hidden)
        const v = getSlot(doc, s);
        if (Array.isArray(v) && v.length > 0) setSlot(doc, s, Array.from({ length: o.count }, (_, i) => structuredCloneSafe(v[i % v.length])));
        break;
      }
    }
  }
  return doc.root;
}

function structuredCloneSafe(v: unknown): unknown {
  if (v instanceof Raw) return v;
  if (v instanceof Entries) return new Entries(v.entries.map(([k, x]) => [k, structuredCloneSafe(x)]));
  if (Array.isArray(v)) return v.map(structuredCloneSafe);
  return v;
}

// ------------------------------------------------------------------ JSON text

export type TextOp = { op: 'truncate'; at: number } | { op: 'insert'; at: number; text: string } | { op: 'delete'; at: number; len: number };

export const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: pos }),
  fc.record({
    op: fc.constant('insert' as const),
    at: pos,
    text: fc.oneof(fc.constantFrom(',', ':', '"', '{', '}', '[', ']', 'NaN', 'Infinity', '-', '\\', '\\u', '\ud800', '\u0000', '\n', ' ', 'null', '1e999', '//'), fc.string({ maxLength: 6 })),
  }),
  fc.record({ op: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 12 }) }),
);

export function applyTextOps(text: string, ops: readonly TextOp[]): string {
  let t = text;
  for (const o of ops) {
    const at = o.at % (t.length + 1);
    if (o.op === 'truncate') t = t.slice(0, at);
    else if (o.op === 'insert') t = t.slice(0, at) + o.text + t.slice(at);
    else t = t.slice(0, at) + t.slice(at + o.len);
  }
  return t;
}

/** Whether `serialize(v)` is strict JSON (no bare NaN / Infinity), for readers that do not take Python's literals. */
export function isStrictJson(v: unknown): boolean {
  if (v instanceof Raw) return !/^-?(NaN|Infinity|inf)$/.test(v.text);
  if (typeof v === 'number') return Number.isFinite(v);
  if (v instanceof Entries) return v.entries.every(([, x]) => isStrictJson(x));
  if (Array.isArray(v)) return v.every(isStrictJson);
  if (v && typeof v === 'object') return Object.values(v).every(isStrictJson);
  return true;
}

/** hostileValue without what strict JSON cannot hold. */
export const strictHostileValue: fc.Arbitrary<unknown> = hostileValue.filter(isStrictJson);
