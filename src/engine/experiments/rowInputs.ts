// Per-row inputs of the one-call sweeps (the sweep graph and the chunk graph): the feature groups of a call's rows.
import type { ModelBackend } from '../types';
import { familyOf } from '../arch/index';
import { featureKey, writeUnitMask } from '../interventions/spec';
import type { Variant } from './plan';

/**
 * The feature groups of a call's rows (indices into uniq): unitGroups [L, G, units] (group 0 = every unit, then one per
 * distinct restriction, in order of first appearance) and each row's group; {} when no row is restricted.
 */
export function rowFeatureGroups(backend: ModelBackend, uniq: readonly Variant[], rows: readonly number[]): { unitGroups?: Float32Array; rowGroup?: Int32Array } {
  if (!rows.some((u) => uniq[u].features)) return {};
  const c = backend.config;
  const L = c.nLayer;
  const U = familyOf(c).attentionUnits(c).count;
  const groupOf = new Map<string, number>([['', 0]]);
  const firsts: Variant[] = [];
  for (const u of rows) {
    const key = featureKey(uniq[u]);
    if (!groupOf.has(key)) {
      groupOf.set(key, groupOf.size);
      firsts.push(uniq[u]);
    }
  }
  const G = groupOf.size;
  const unitGroups = new Float32Array(L * G * U).fill(1);
  for (let j = 0; j < L; j++) firsts.forEach((v, g) => writeUnitMask(v, j, U, unitGroups, (j * G + g + 1) * U));
  return { unitGroups, rowGroup: Int32Array.from(rows, (u) => groupOf.get(featureKey(uniq[u]))!) };
}
