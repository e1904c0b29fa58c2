// Shared pieces of the trace / micro / dataset experiments: prompt preparation, window checks, provenance.
import { UserError, type EngineSession, type Encoding } from '../types';
import { TOOL_VERSION } from '../version';
import type { Provenance, TargetInfo, TopToken } from './resultTypes';
import { encodePrompt, resolveTargetId, subjectPositions, type PromptPositions } from './positions';
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
}

export function preparePrompt(session: EngineSession, prompt: string, subject: string | undefined, target: string | undefined): PreparedPrompt {
  if (typeof prompt !== 'string' || prompt.trim().length === 0) throw new UserError('the prompt is empty');
  const enc = encodePrompt(session.tokenizer, prompt);
  const pos = subject !== undefined ? subjectPositions(prompt, subject, enc) : undefined;
  const targetId = target !== undefined ? resolveTargetId(session.tokenizer, target).id : undefined;
  return { prompt, subject, enc, pos, targetId };
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
