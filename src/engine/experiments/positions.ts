// Token positions of the knockout source sets (SPEC §3) and target-token resolution.
import { UserError, type Encoding, type Tokenizer } from '../types';
import type { SourceSetName, TokenInfo } from './resultTypes';

export const DEFAULT_SETS: SourceSetName[] = ['subject', 'relation', 'last'];
export const BUILTIN_SETS = ['subject', 'relation', 'last', 'first', 'all'] as const;

export interface PromptPositions {
  n: number;
  subject: number[];
  relation: number[];
  last: number;
  /** [start, end) of the subject's first occurrence in the prompt (UTF-16 units) */
  subjectSpan: [number, number];
}

/**
 * Positions of the subject: tokens whose character span overlaps the subject's FIRST occurrence in the prompt.
 * The subject is trimmed of leading whitespace before searching (dataset subjects may carry a leading space).
 * Relation = every position not in the subject and not the last. Last = N − 1.
 */
export function subjectPositions(prompt: string, subject: string, enc: Encoding): PromptPositions {
  const n = enc.ids.length;
  if (n === 0) throw new UserError('the prompt is empty (it has no tokens)');
  const s = subject.replace(/^\s+/, '');
  if (s.length === 0) throw new UserError(`subject '${subject}' is empty`);
  const at = prompt.indexOf(s);
  if (at < 0) throw new UserError(`subject '${s}' not found in prompt '${prompt}'`);
  const end = at + s.length;
  const subj: number[] = [];
  for (let i = 0; i < n; i++) {
    const [a, b] = enc.offsets[i];
    // overlap of [a, b) and [at, end); zero-width tokens overlap when they sit inside the span
    if ((a < end && b > at) || (a === b && a >= at && a < end)) subj.push(i);
  }
  if (subj.length === 0) throw new UserError(`subject '${s}' does not cover any token of prompt '${prompt}'`);
  const last = n - 1;
  const sset = new Set(subj);
  const relation: number[] = [];
  for (let i = 0; i < last; i++) if (!sset.has(i)) relation.push(i);
  return { n, subject: subj, relation, last, subjectSpan: [at, end] };
}

/** SPEC §3 appendix split: does the subject contain position 0? */
export function subjectHasFirst(pos: PromptPositions): boolean {
  return pos.subject.includes(0);
}

/**
 * Resolves a set name to positions. Built-ins: subject, relation, last, first ({0}), all.
 * Custom sets: 'custom:<name>' looked up in `custom`, or a literal list like '0,2,5' / 'pos:0,2,5'.
 */
export function resolveSet(name: SourceSetName, pos: PromptPositions, custom?: Record<string, number[]>): number[] {
  switch (name) {
    case 'subject':
      return pos.subject.slice();
    case 'relation':
      return pos.relation.slice();
    case 'last':
      return [pos.last];
    case 'first':
      return [0];
    case 'all':
      return Array.from({ length: pos.n }, (_, i) => i);
  }
  let list: number[] | undefined;
  if (name.startsWith('custom:') && custom && custom[name.slice(7)]) list = custom[name.slice(7)];
  else if (custom && custom[name]) list = custom[name];
  else {
    const lit = name.startsWith('pos:') ? name.slice(4) : name.startsWith('custom:') ? name.slice(7) : name;
    if (/^\d+(\s*[,;+ ]\s*\d+)*$/.test(lit.trim())) list = lit.trim().split(/\s*[,;+ ]\s*/).map(Number);
  }
  if (!list) throw new UserError(`unknown source set '${name}' (use subject, relation, last, first, all, or custom:<positions> like custom:0+2+5)`);
  for (const p of list) {
    if (!Number.isInteger(p) || p < 0 || p >= pos.n)
      throw new UserError(`source set '${name}': position ${p} is outside the prompt's ${pos.n} tokens (0…${pos.n - 1})`);
  }
  return Array.from(new Set(list)).sort((a, b) => a - b);
}

/** Parses a --sets value: comma-separated names; custom sets written as custom:0+2+5. */
export function parseSets(value: string | undefined): SourceSetName[] {
  if (value === undefined || value.trim() === '') return DEFAULT_SETS.slice();
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if ((BUILTIN_SETS as readonly string[]).includes(n)) continue;
    if (/^(custom|pos):\d+([+; ]\d+)*$/.test(n)) continue;
    throw new UserError(`unknown source set '${n}' in --sets (use subject, relation, last, first, all, or custom:<p1+p2+…>)`);
  }
  return Array.from(new Set(names));
}

/** Token table with roles for results (text is the prompt's own characters of each token). */
export function tokenInfos(prompt: string, enc: Encoding, pos: PromptPositions): TokenInfo[] {
  const sset = new Set(pos.subject);
  return enc.ids.map((id, i) => {
    const [start, end] = enc.offsets[i];
    const text = end > start ? prompt.slice(start, end) : enc.tokens[i];
    return { id, text, start, end, role: i === pos.last ? 'last' : sset.has(i) ? 'subject' : 'relation' };
  });
}

/**
 * Target text → token id. The target is tokenised as a continuation of the prompt, so a leading space matters
 * (COUNTERFACT's target_true starts with one: ' French'). When the text does not start with whitespace a space is
 * prepended ('Apple' → ' Apple'), because the next word after a prompt is almost always preceded by one.
 * The first token of the result is the target. A text that tokenises to nothing is a UserError.
 */
export function resolveTargetId(tokenizer: Tokenizer, target: string): { id: number; text: string } {
  if (target.length === 0) throw new UserError('target is empty: it tokenises to nothing');
  const text = /^\s/.test(target) ? target : ' ' + target;
  const enc = tokenizer.encode(text);
  if (enc.ids.length === 0) throw new UserError(`target '${target}' tokenises to nothing`);
  const id = enc.ids[0];
  return { id, text: tokenizer.decode([id]) };
}

export function encodePrompt(tokenizer: Tokenizer, prompt: string): Encoding {
  if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
  const enc = tokenizer.encode(prompt);
  if (enc.ids.length === 0) throw new UserError(`the prompt '${prompt}' tokenises to nothing`);
  return enc;
}
