// The fields that the one-prompt results (trace, micro) share: the head (schema, provenance, the prompt, its target
// and clean prediction, its tokens) and the tail (the feature group or groups, the prompt's warnings).
import type { EngineSession } from '../types';
import type { ConvPath } from '../interventions/spec';
import { RESULTS_SCHEMA_VERSION } from './resultTypes';
import { tokenInfos, type PromptPositions } from './positions';
import type { CleanRun } from './runner';
import type { ResolvedGroup } from './features';
import { baseTop, provenance, targetInfo, type PreparedPrompt } from './common';

/** The fields a one-prompt result opens with, after its kind (prompt 0 of the clean run). */
export function promptResultHead<S extends string | undefined>(session: EngineSession, prep: PreparedPrompt, subject: S, clean: CleanRun, conv: ConvPath, pos: PromptPositions) {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    provenance: provenance(session, undefined, conv),
    prompt: prep.prompt,
    subject,
    target: targetInfo(session, clean.targets[0]),
    baseProb: clean.baseProbs[0],
    baseTop: baseTop(session, clean, 0),
    tokens: tokenInfos(prep.prompt, prep.enc, pos),
  };
}

/**
 * The fields it closes with: one feature group as `features`, several as `groups` (each with `curves(i)`, group i's
 * own windows or grid), and the prompt's warnings when there are any.
 */
export function promptResultTail<C extends object>(groups: readonly ResolvedGroup[] | undefined, curves: (i: number) => C, prep: PreparedPrompt) {
  return {
    ...(groups?.length === 1 ? { features: groups[0].info } : {}),
    ...(groups && groups.length > 1 ? { groups: groups.map((g, i) => ({ ...g.info, ...curves(i) })) } : {}),
    ...(prep.warnings.length ? { warnings: prep.warnings } : {}),
  };
}
