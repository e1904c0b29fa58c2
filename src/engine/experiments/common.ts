// Shared pieces of the trace / micro / dataset experiments: prompt preparation, window checks, provenance.
import { UserError, type EngineSession, type Encoding } from '../types';
import { TOOL_VERSION } from '../version';
import type { Provenance, ResultWarning, TargetInfo, TopToken } from './resultTypes';
import { encodePrompt, resolveTargetId, subjectPositions, type PromptPositions } from './positions';
import { visibleToken, tokenPieces } from '../util/tokenText';
import { sweepInUse, topK, type CleanRun } from './runner';
import type { ConvPath } from '../interventions/spec';

export const DEFAULT_MACRO_WINDOW = 9;
export const DEFAULT_MICRO_WINDOW = 5;

export function provenance(session: EngineSession, createdAt = new Date().toISOString(), conv: ConvPath = 'keep'): Provenance {
  return {
    tool: { name: 'mamba-explain', version: TOOL_VERSION },
    model: session.identity,
    ep: session.backend.ep,
    sweep: sweepInUse(session.backend),
    computeDType: session.computeDType,
    conv,
    ...(session.cudaMath ? { cudaMath: session.cudaMath, device: session.device } : {}),
    ...(session.steering?.length ? { steer: session.steering.map((t) => ({ layer: t.layer, channels: t.channels.slice(), scale: t.scale })) } : {}),
    createdAt,
  };
}

/** Validates window sizes against the model's layer count (k > L is a UserError). */
export function checkWindows(windows: readonly number[], nLayer: number): number[] {
  if (windows.length === 0) throw new UserError('no window size given');
  for (const k of windows) {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`window ${k} must be a positive integer`);
    if (k > nLayer) throw new UserError(`window ${k} is larger than the model's ${nLayer} layers`);
  }
  return Array.from(new Set(windows));
}

/** Default window when none is given: the seed's k, clipped to the model's depth (small demo models). */
export function defaultWindow(k: number, nLayer: number): number {
  return Math.min(k, nLayer);
}

/**
 * Default window sizes of the macro experiments (trace, demo, macro dataset runs): k = 9 (the papers') on models of
 * 24 layers or more; on shallower ones (the 8-layer demo models) a quarter and a half of the depth, so that every
 * curve has several starts to show instead of one window covering the whole model.
 */
export function defaultMacroWindows(nLayer: number): number[] {
  if (nLayer >= 24) return [DEFAULT_MACRO_WINDOW];
  return [...new Set([Math.max(1, Math.round(nLayer / 4)), Math.max(1, Math.round(nLayer / 2))])];
}

export function startsFor(k: number, nLayer: number): number[] {
  return Array.from({ length: nLayer - k + 1 }, (_, i) => i);
}

export interface PreparedPrompt {
  prompt: string;
  subject?: string;
  enc: Encoding;
  pos?: PromptPositions;
  /** target id from the --target text; undefined → clean top-1 */
  targetId?: number;
  /** inputs that silently change the experiment (see promptWarnings) */
  warnings: ResultWarning[];
}

export function preparePrompt(session: EngineSession, prompt: string, subject: string | undefined, target: string | undefined): PreparedPrompt {
  if (typeof prompt !== 'string' || prompt.trim().length === 0) throw new UserError('the prompt is empty');
  const enc = encodePrompt(session.tokenizer, prompt);
  const pos = subject !== undefined ? subjectPositions(prompt, subject, enc) : undefined;
  const resolved = target !== undefined ? resolveTargetId(session.tokenizer, target) : undefined;
  const warnings = promptWarnings(session, prompt, enc, pos, target);
  return { prompt, subject, enc, pos, targetId: resolved?.id, warnings };
}

const q = (s: string) => JSON.stringify(s);

/**
 * Warnings about inputs that silently change the experiment:
 *  - 'trailing-whitespace': the prompt ends in whitespace, which becomes (part of) the last token, so the model predicts
 *    what follows the space rather than the next word (whose token carries the space);
 *  - 'multi-token-target': the target text is several tokens and only the first is followed;
 *  - 'subject-covers-last': the subject reaches the last position, so the subject set contains it (blocking the subject
 *    also cuts the diagonal edge of the 'last' set);
 *  - 'empty-relation': no position is relation (every position before the last is subject), so the relation curve
 *    blocks nothing and stays at 0.
 */
export function promptWarnings(session: Pick<EngineSession, 'tokenizer'>, prompt: string, enc: Encoding, pos: PromptPositions | undefined, target: string | undefined): ResultWarning[] {
  const out: ResultWarning[] = [];
  const tok = session.tokenizer;
  const pieces = tokenPieces(
    prompt,
    enc.offsets.map(([start, end]) => ({ start, end })),
    enc.ids.map((id) => tok.decode([id])),
  );
  const last = enc.ids.length - 1;
  const lastLabel = `${q(visibleToken(pieces[last]))} at position ${last}`;
  if (/\s$/.test(prompt)) {
    out.push({
      code: 'trailing-whitespace',
      message: `the prompt ends in whitespace, so its last token is ${lastLabel}: the model then predicts what follows that whitespace, not the next word (whose token carries its own leading space); remove the trailing whitespace`,
    });
  }
  if (target !== undefined && target.length > 0) {
    const text = /^\s/.test(target) ? target : ' ' + target;
    const ids = tok.encode(text).ids;
    if (ids.length > 1) {
      const shown = ids.slice(0, 4).map((id) => q(visibleToken(tok.decode([id])))).join(', ') + (ids.length > 4 ? ', …' : '');
      out.push({
        code: 'multi-token-target',
        message: `the target ${q(text)} is ${ids.length} tokens (${shown}): only the first, ${q(visibleToken(tok.decode([ids[0]])))}, is followed (p and p′ are its probabilities)`,
      });
    }
  }
  if (pos && pos.subject.includes(pos.last)) {
    out.push({
      code: 'subject-covers-last',
      message: `the subject covers the last position (${lastLabel}): the subject set then contains the prediction position, so blocking the subject also cuts the edge (last ← last) of the 'last' set; end the prompt after the subject`,
    });
  }
  if (pos && pos.relation.length === 0) {
    out.push({
      code: 'empty-relation',
      message: `the relation set is empty (every position before the last is part of the subject): the relation curve blocks nothing and stays at 0`,
    });
  }
  return out;
}

export function targetInfo(session: EngineSession, id: number): TargetInfo {
  return { id, text: session.tokenizer.decode([id]) };
}

export function baseTop(session: EngineSession, clean: CleanRun, p: number, k = 5): TopToken[] {
  const V = session.backend.config.paddedVocabSize;
  return topK(clean.logits, p * V, session.backend.config.vocabSize, k).map((t) => ({ ...t, text: session.tokenizer.decode([t.id]) }));
}

/** Positions when there is no subject: every position but the last is 'relation'. */
export function positionsWithoutSubject(n: number): PromptPositions {
  return { n, subject: [], relation: Array.from({ length: n - 1 }, (_, i) => i), last: n - 1, subjectSpan: [0, 0] };
}
