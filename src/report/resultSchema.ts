// The structure of the result kinds the report, the knockout panel and the heatmap show (docs/results-schema.md,
// src/engine/experiments/resultTypes.ts), checked field by field: every field they read has the type they read it as
// (numbers are numbers, roles are roles, lists are lists), so that a results file that passes renders without an
// internal error and with no markup taken from the file. Unknown extra fields are allowed (new optional fields may
// appear within a schema version). Node-safe, no DOM.

/** Where a value failed and what it should have been. */
export interface SchemaFailure {
  path: (string | number)[];
  /** what the value should be ('an integer', 'a list', '"subject", "relation" or "last"', …) */
  want: string;
  /** true when the field is absent (rather than of the wrong type) */
  missing: boolean;
}

/** Checks a value at a path: undefined when it fits. */
export type Schema = (v: unknown, path: (string | number)[]) => SchemaFailure | undefined;

const fail = (path: (string | number)[], want: string, v: unknown): SchemaFailure => ({ path, want, missing: v === undefined });

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function simple(want: string, ok: (v: unknown) => boolean): Schema {
  return (v, path) => (ok(v) ? undefined : fail(path, want, v));
}

export const str = simple('a string', (v) => typeof v === 'string');
export const bool = simple('true or false', (v) => typeof v === 'boolean');
export const num = simple('a number', (v) => typeof v === 'number');
/** a number, or null (the results files write a value that is not finite as null) */
export const numOrNull = simple('a number or null', (v) => typeof v === 'number' || v === null);
export const int = simple('an integer', (v) => Number.isInteger(v));
/** an integer ≥ 0 (ids, positions, counts, indices) */
export const nat = simple('an integer ≥ 0', (v) => Number.isInteger(v) && (v as number) >= 0);
/** an integer ≥ 1 (window sizes) */
export const pos = simple('an integer ≥ 1', (v) => Number.isInteger(v) && (v as number) >= 1);

/** One of the given strings. */
export function oneOf(...values: string[]): Schema {
  const want = values.length === 1 ? JSON.stringify(values[0]) : `${values.slice(0, -1).map((x) => JSON.stringify(x)).join(', ')} or ${JSON.stringify(values[values.length - 1])}`;
  return simple(want, (v) => typeof v === 'string' && values.includes(v));
}

/** A list whose every element fits `item`. */
export function list(item: Schema, want = 'a list'): Schema {
  return (v, path) => {
    if (!Array.isArray(v)) return fail(path, want, v);
    for (let i = 0; i < v.length; i++) {
      const f = item(v[i], [...path, i]);
      if (f) return f;
    }
    return undefined;
  };
}

/** An object with the `required` fields and, when present, the `optional` ones (other fields are not looked at). */
export function obj(required: Record<string, Schema>, optional: Record<string, Schema> = {}): Schema {
  return (v, path) => {
    if (!isObj(v)) return fail(path, 'an object', v);
    for (const [k, s] of Object.entries(required)) {
      const f = s(v[k], [...path, k]);
      if (f) return f;
    }
    for (const [k, s] of Object.entries(optional)) {
      if (v[k] === undefined) continue;
      const f = s(v[k], [...path, k]);
      if (f) return f;
    }
    return undefined;
  };
}

/** An object whose every value fits `value` (e.g. curves by source-set name). */
export function record(value: Schema): Schema {
  return (v, path) => {
    if (!isObj(v)) return fail(path, 'an object', v);
    for (const [k, x] of Object.entries(v)) {
      const f = value(x, [...path, k]);
      if (f) return f;
    }
    return undefined;
  };
}

/** `s`, then `rule` on the value that fits it (agreement between fields: lengths, ranges). */
export function refine<T>(s: Schema, rule: (v: T, path: (string | number)[]) => SchemaFailure | undefined): Schema {
  return (v, path) => s(v, path) ?? rule(v as T, path);
}

/** A failure for a rule (agreement between fields) at `path`. */
export function ruleFailure(path: (string | number)[], want: string): SchemaFailure {
  return { path, want, missing: false };
}

/** Control characters and line separators escaped, cut after `max` characters: fit for a one-line message. */
export function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** 'windows[0].curves.subject.diffPct[2]', keys that are not plain names quoted and cut ('curves["<x…"]'). */
export function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]{0,40}$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p.length > 24 ? `${p.slice(0, 24)}…` : p)}]`;
  }
  return oneLine(out, 300);
}

/** 'its "windows[0].starts[2]" is not an integer ≥ 0' (or 'is missing'). */
export function describeFailure(f: SchemaFailure): string {
  const where = f.path.length ? `"${formatPath(f.path)}"` : 'value';
  if (f.missing) return `its ${where} is missing (it should be ${f.want})`;
  return `its ${where} is not ${f.want}`;
}

// ------------------------------------------------------------------ the pieces of a result

/** More layers than any model has: bounds the window sizes and starts (the heatmap allocates per layer). */
export const MAX_LAYERS = 10_000;

const tokenRole = oneOf('subject', 'relation', 'last');

export const provenanceSchema: Schema = obj(
  {
    tool: obj({ name: str, version: str }),
    model: obj(
      {
        path: str,
        hash: str,
        format: str,
        dModel: nat,
        nLayer: refine<number>(pos, (n, p) => (n <= MAX_LAYERS ? undefined : ruleFailure(p, `at most ${MAX_LAYERS}`))),
        storedDType: str,
        tokenizer: obj({ file: str, sha256: str }),
      },
      // the family is a string (families added later keep opening); the report names unknown ones Mamba-2
      { arch: str, variant: str },
    ),
    ep: str,
    computeDType: str,
    createdAt: str,
  },
  {
    sweep: str,
    conv: oneOf('keep', 'block'),
    cudaMath: str,
    device: nat,
    steer: list(obj({ layer: nat, channels: list(nat), scale: num })),
  },
);

export const targetSchema = obj({ id: nat, text: str });
export const topSchema = list(obj({ id: nat, text: str, prob: num }));
export const tokensSchema = list(obj({ id: nat, text: str, start: nat, end: nat, role: tokenRole }));
export const warningsSchema = list(obj({ code: str, message: str }, { count: nat, indices: list(nat) }));
const featureInfo = { features: str, mode: oneOf('only', 'except') };

/** `starts` fit the window and the model's layers: ℓ + k ≤ L (checked against the result's nLayer afterwards). */
const startsSchema = list(nat);

/** Every list of `fields` (present) has one value per start. */
function perStart(fields: string[]) {
  return (w: { starts: number[]; curves: Record<string, Record<string, unknown[]>> }, path: (string | number)[]): SchemaFailure | undefined => {
    for (const [name, c] of Object.entries(w.curves)) {
      for (const f of fields) {
        if (c[f] !== undefined && c[f].length !== w.starts.length) return ruleFailure([...path, 'curves', name, f], `a list of ${w.starts.length} values (one per start)`);
      }
    }
    return undefined;
  };
}

export const macroWindowSchema: Schema = refine(
  obj({ window: pos, starts: startsSchema, curves: record(obj({ probs: list(numOrNull), diffPct: list(numOrNull), top1: list(bool) })) }),
  perStart(['probs', 'diffPct', 'top1']),
);

export const aggregateWindowSchema: Schema = refine(
  obj({ window: pos, starts: startsSchema, curves: record(obj({ mean: list(numOrNull), ciLow: list(numOrNull), ciHigh: list(numOrNull), accuracy: list(numOrNull), n: list(nat) })) }),
  perStart(['mean', 'ciLow', 'ciHigh', 'accuracy', 'n']),
);

/** A grid (validated as a list of lists) of one row per token and one value per start. */
function gridShape(g: unknown[][], rows: number, cols: number, path: (string | number)[]): SchemaFailure | undefined {
  if (g.length !== rows) return ruleFailure(path, `a list of ${rows} rows (one per token)`);
  const bad = g.findIndex((r) => r.length !== cols);
  return bad < 0 ? undefined : ruleFailure([...path, bad], `a list of ${cols} values (one per start)`);
}

export const intervalSchema: Schema = (v, path) => {
  const f = obj({ method: oneOf('bootstrap', 't'), level: num })(v, path);
  if (f) return f;
  return (v as { method: string }).method === 'bootstrap' ? obj({ resamples: nat, seed: int })(v, path) : undefined;
};

// ------------------------------------------------------------------ the kinds

const header = { kind: str, schemaVersion: int, provenance: provenanceSchema };

/** Positions (of a trace) inside its tokens. */
function positionsInside(r: { tokens: unknown[]; subjectPositions: number[]; relationPositions: number[]; lastPosition: number }): SchemaFailure | undefined {
  const n = r.tokens.length;
  for (const key of ['subjectPositions', 'relationPositions'] as const) {
    const bad = r[key].findIndex((p) => p >= n);
    if (bad >= 0) return ruleFailure([key, bad], `a position below ${n} (the number of tokens)`);
  }
  return r.lastPosition < n ? undefined : ruleFailure(['lastPosition'], `a position below ${n} (the number of tokens)`);
}

/** A window size and starts that fit the model: k ≤ L, ℓ + k ≤ L (`path`: the window's). */
function windowFits(w: { window: number; starts: number[] }, L: number, path: (string | number)[]): SchemaFailure | undefined {
  if (w.window > L) return ruleFailure([...path, 'window'], `a window size of at most ${L} (the model's layers)`);
  const bad = w.starts.findIndex((s) => s + w.window > L);
  return bad < 0 ? undefined : ruleFailure([...path, 'starts', bad], `a start ℓ with ℓ + ${w.window} ≤ ${L} (the model's layers)`);
}

function windowsFit(ws: { window: number; starts: number[] }[], L: number, path: (string | number)[]): SchemaFailure | undefined {
  for (let i = 0; i < ws.length; i++) {
    const f = windowFits(ws[i], L, [...path, i]);
    if (f) return f;
  }
  return undefined;
}

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const traceSchema: Schema = refine<Rec>(
  obj(
    {
      ...header,
      prompt: str,
      subject: str,
      target: targetSchema,
      baseProb: num,
      baseTop: topSchema,
      tokens: tokensSchema,
      subjectPositions: list(nat),
      relationPositions: list(nat),
      lastPosition: nat,
      windows: list(macroWindowSchema),
    },
    { features: obj(featureInfo), groups: list(obj({ ...featureInfo, windows: list(macroWindowSchema) })), warnings: warningsSchema },
  ),
  (r) => {
    const L = r.provenance.model.nLayer;
    return positionsInside(r as never) ?? windowsFit(r.windows, L, ['windows']) ?? (r.groups as Rec[] | undefined)?.map((g, i) => windowsFit(g.windows, L, ['groups', i, 'windows'])).find(Boolean);
  },
);

export const microSchema: Schema = refine<Rec>(
  obj(
    {
      ...header,
      prompt: str,
      target: targetSchema,
      baseProb: num,
      baseTop: topSchema,
      tokens: tokensSchema,
      window: pos,
      starts: startsSchema,
      probs: list(list(numOrNull)),
      diffPct: list(list(numOrNull)),
    },
    {
      subject: str,
      top1: list(list(bool)),
      features: obj(featureInfo),
      groups: list(obj({ ...featureInfo, probs: list(list(numOrNull)), diffPct: list(list(numOrNull)), top1: list(list(bool)) })),
      warnings: warningsSchema,
    },
  ),
  (r) => {
    const rows = r.tokens.length;
    const cols = r.starts.length;
    const grids: [unknown, (string | number)[]][] = [[r.diffPct, ['diffPct']], [r.probs, ['probs']]];
    if (r.top1 !== undefined) grids.push([r.top1, ['top1']]);
    (r.groups as Rec[] | undefined)?.forEach((g, i) => grids.push([g.diffPct, ['groups', i, 'diffPct']], [g.probs, ['groups', i, 'probs']], [g.top1, ['groups', i, 'top1']]));
    for (const [g, path] of grids) {
      const f = gridShape(g as unknown[][], rows, cols, path);
      if (f) return f;
    }
    return windowFits(r as never, r.provenance.model.nLayer, []);
  },
);

const promptMicro: Schema = refine<Rec>(
  obj({ window: pos, starts: startsSchema, diffPct: list(list(numOrNull)), tokens: list(str) }, { top1: list(list(bool)), subjectPositions: list(nat) }),
  (m, path) => gridShape(m.diffPct, m.tokens.length, m.starts.length, [...path, 'diffPct']) ?? (m.top1 !== undefined ? gridShape(m.top1, m.tokens.length, m.starts.length, [...path, 'top1']) : undefined),
);

const promptRecord: Schema = obj(
  { index: nat, prompt: str, subject: str, target: targetSchema, baseProb: numOrNull, subjectHasFirst: bool },
  { windows: list(macroWindowSchema), groups: list(obj({ ...featureInfo, windows: list(macroWindowSchema) })), micro: promptMicro, tokenCount: nat },
);

export const datasetRunSchema: Schema = refine<Rec>(
  obj(
    {
      ...header,
      experiment: oneOf('macro', 'micro'),
      dataset: obj({ file: str, sha256: str, format: str, rows: nat }),
      settings: obj(
        { windows: list(pos), sets: list(str), filterCorrect: bool, split: bool },
        { limit: nat, seed: int, conv: oneOf('keep', 'block'), features: list(str), featureMode: oneOf('only', 'except'), interval: intervalSchema },
      ),
      status: oneOf('complete', 'partial'),
      prompts: list(promptRecord),
      skipped: list(obj({ index: nat, reason: str }, { prompt: str, cause: oneOf('unusable', 'skipped', 'filtered') })),
      aggregate: obj(
        { windows: list(aggregateWindowSchema) },
        {
          split: obj({ subjectHasFirst: list(aggregateWindowSchema), subjectLacksFirst: list(aggregateWindowSchema), counts: obj({ subjectHasFirst: nat, subjectLacksFirst: nat }) }),
          groups: list(obj({ ...featureInfo, windows: list(aggregateWindowSchema) })),
        },
      ),
    },
    {
      configHash: str,
      counts: obj({ selected: nat, measured: nat, skipped: nat, filteredOut: nat }, { unusable: nat, rows: nat }),
      warnings: warningsSchema,
      resume: obj({ doneChunks: list(nat), totalChunks: nat }, { chunkSize: pos, chunking: oneOf('mixed', 'length') }),
    },
  ),
  (r) => {
    const L = r.provenance.model.nLayer;
    const a = r.aggregate;
    const lists: [Rec[], (string | number)[]][] = [[a.windows, ['aggregate', 'windows']]];
    if (a.split) lists.push([a.split.subjectHasFirst, ['aggregate', 'split', 'subjectHasFirst']], [a.split.subjectLacksFirst, ['aggregate', 'split', 'subjectLacksFirst']]);
    (a.groups as Rec[] | undefined)?.forEach((g, i) => lists.push([g.windows, ['aggregate', 'groups', i, 'windows']]));
    for (const [ws, path] of lists) {
      const f = windowsFit(ws as never, L, path);
      if (f) return f;
    }
    const ps = r.prompts as Rec[];
    for (let i = 0; i < ps.length; i++) {
      const f = (ps[i].windows ? windowsFit(ps[i].windows, L, ['prompts', i, 'windows']) : undefined) ?? (ps[i].micro ? windowFits(ps[i].micro, L, ['prompts', i, 'micro']) : undefined);
      if (f) return f;
    }
    return undefined;
  },
);
