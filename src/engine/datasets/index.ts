// Dataset loaders (SPEC §6): COUNTERFACT tracing rows, ROME known_1000 rows, ROME COUNTERFACT rows.
// Each usable row becomes a DatasetItem {index, prompt, subject, target}; a row that cannot be used becomes a skipped
// entry with a reason. A file that is not JSON, or has no usable row at all, is a UserError listing the first problems.
import * as fs from 'node:fs';
import { UserError } from '../types';
import { sha256Hex } from '../util/hash';
import { seededShuffle } from '../util/prng';

export type DatasetFormat = 'counterfact-tracing' | 'known_1000' | 'rome-counterfact';

export interface DatasetItem {
  /** row index in the file */
  index: number;
  prompt: string;
  subject: string;
  /** target text as given (with its leading space when the format has one) */
  target: string;
  relationId?: string;
}

export interface RowProblem {
  index: number;
  reason: string;
  prompt?: string;
}

export interface LoadedDataset {
  file: string;
  sha256: string;
  /** most common row format */
  format: DatasetFormat;
  rows: number;
  items: DatasetItem[];
  skipped: RowProblem[];
}

type Row = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** target_true may be a string (' French') or an object {str: 'French', id: …}. */
function targetText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Row).str === 'string') return (v as Row).str as string;
  return undefined;
}

export function detectRowFormat(row: unknown): DatasetFormat | undefined {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return undefined;
  const r = row as Row;
  if (r.requested_rewrite && typeof r.requested_rewrite === 'object') return 'rome-counterfact';
  if ('known_id' in r || ('attribute' in r && 'template' in r)) return 'known_1000';
  if ('prompt' in r && 'subject' in r && 'target_true' in r) return 'counterfact-tracing';
  return undefined;
}

/**
 * `tpl` with its first '{}' replaced by `subject`, literally: String.replace with a string would read '$&', '$1', "$'"
 * … in the subject as replacement patterns (a subject '$&x' would become '{}x').
 */
function fillTemplate(tpl: string, subject: string): string {
  return tpl.replace('{}', () => subject);
}

/** Control characters and line separators escaped, cut after `max` characters: fit for a one-line message. */
function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Converts one row to an item, or returns the reason it cannot be used. */
export function rowToItem(row: unknown, index: number): DatasetItem | RowProblem {
  const fmt = detectRowFormat(row);
  if (!fmt) {
    const what = row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row === 'object' ? `keys ${Object.keys(row as Row).slice(0, 6).join(', ') || '(none)'}` : typeof row;
    return { index, reason: `row ${index}: not a COUNTERFACT, known_1000 or ROME COUNTERFACT row (${what})` };
  }
  const r = row as Row;
  let prompt: string | undefined;
  let subject: string | undefined;
  let target: string | undefined;
  if (fmt === 'counterfact-tracing') {
    prompt = str(r.prompt);
    subject = str(r.subject);
    target = targetText(r.target_true);
  } else if (fmt === 'known_1000') {
    prompt = str(r.prompt);
    subject = str(r.subject);
    const attr = str(r.attribute);
    target = attr === undefined ? undefined : /^\s/.test(attr) ? attr : ' ' + attr;
    if (prompt === undefined && typeof r.template === 'string' && subject !== undefined) prompt = fillTemplate(r.template, subject);
  } else {
    const rr = r.requested_rewrite as Row;
    subject = str(rr.subject);
    const tpl = str(rr.prompt);
    prompt = tpl !== undefined && subject !== undefined ? (tpl.includes('{}') ? fillTemplate(tpl, subject) : undefined) : undefined;
    if (tpl !== undefined && !tpl.includes('{}')) return { index, reason: `row ${index}: requested_rewrite.prompt has no '{}' placeholder`, prompt: tpl };
    const t = targetText(rr.target_true);
    target = t === undefined ? undefined : /^\s/.test(t) ? t : ' ' + t;
  }
  if (prompt === undefined || prompt.trim() === '') return { index, reason: `row ${index}: missing or empty prompt` };
  if (subject === undefined || subject.trim() === '') return { index, reason: `row ${index}: missing or empty subject`, prompt };
  if (target === undefined || target.trim() === '') return { index, reason: `row ${index}: missing or empty target`, prompt };
  if (!prompt.includes(subject.replace(/^\s+/, ''))) return { index, reason: `row ${index}: subject '${subject.trim()}' not found in prompt '${prompt}'`, prompt };
  const relationId = str(r.relation_id) ?? (fmt === 'rome-counterfact' ? str((r.requested_rewrite as Row).relation_id) : undefined);
  return { index, prompt, subject, target, relationId };
}

/** Parses dataset text (JSON array of rows, or an object holding one such array under data/rows/items). */
export function parseDataset(text: string, file: string, sha256 = sha256Hex(text)): LoadedDataset {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`dataset '${file}' is not valid JSON: ${oneLine((e as Error).message, 200)}`);
  }
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const o = data as Row;
    const arr = ['data', 'rows', 'items'].map((k) => o[k]).find((v) => Array.isArray(v));
    if (arr) data = arr;
  }
  if (!Array.isArray(data)) throw new UserError(`dataset '${file}' must be a JSON array of rows (COUNTERFACT, known_1000 or ROME COUNTERFACT)`);
  const items: DatasetItem[] = [];
  const skipped: RowProblem[] = [];
  const formats = new Map<DatasetFormat, number>();
  data.forEach((row, i) => {
    const r = rowToItem(row, i);
    if ('reason' in r) skipped.push(r);
    else items.push(r);
    const f = detectRowFormat(row);
    if (f) formats.set(f, (formats.get(f) ?? 0) + 1);
  });
  if (items.length === 0) {
    // the reasons quote the rows' text: one line each, and not a whole prompt of any length
    const first = skipped.slice(0, 3).map((s) => oneLine(s.reason, 300));
    throw new UserError(
      `dataset '${file}' has no usable rows${data.length === 0 ? ' (the array is empty)' : ''}${first.length ? ': ' + first.join('; ') + (skipped.length > 3 ? `; … ${skipped.length - 3} more` : '') : ''}`,
    );
  }
  let format: DatasetFormat = 'counterfact-tracing';
  let best = -1;
  for (const [f, c] of formats) if (c > best) [format, best] = [f, c];
  return { file, sha256, format, rows: data.length, items, skipped };
}

export function loadDataset(file: string): LoadedDataset {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`dataset '${file}' cannot be read${code === 'ENOENT' ? ': no such file' : code ? `: ${code}` : ''}`);
  }
  return parseDataset(buf.toString('utf8'), file, sha256Hex(buf));
}

/**
 * Row sampling: with a seed, a deterministic shuffle (mulberry32) then the first `limit`; without, the first `limit`
 * in file order. Returns row indices into `items`' order.
 */
export function sampleItems<T>(items: readonly T[], limit?: number, seed?: number): T[] {
  const ordered = seed !== undefined ? seededShuffle(items, seed) : items.slice();
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new UserError(`--limit must be a positive integer, got ${limit}`);
    return ordered.slice(0, limit);
  }
  return ordered;
}
