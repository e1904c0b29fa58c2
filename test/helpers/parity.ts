// Shared parts of the parity tests (test/unit/parity/): the fixtures of a test/fixtures/parity*/ folder (one
// checkpoint and its expected.json per sub-folder), the max |a − b| they are compared by, the session of either
// backend, and the fast path's tests (knockout diff% against the fixture and against one full forward per variant).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeEngineSession, openEngineSession } from '../../src/engine/engine';
import { diffPct, runKnockouts, runVariantsNaive, type Variant, type VariantResult } from '../../src/engine/experiments/runner';
import type { EngineSession, ModelBackend } from '../../src/engine/types';

/** What every family's expected.json has. */
export interface ParityExpected {
  name: string;
  storedDType: string;
  config: Record<string, unknown>;
  /** last-position logits of each prompt */
  prompts: { ids: number[]; lastLogits: number[] }[];
}

/** The sub-folders of `root` that hold an expected.json, with it parsed; none when `root` is missing. */
export function loadParityFixtures<E extends ParityExpected>(root: string): { dir: string; exp: E }[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'expected.json')))
    .map((d) => ({ dir: join(root, d.name), exp: JSON.parse(readFileSync(join(root, d.name, 'expected.json'), 'utf8')) as E }));
}

/** A temporary folder (the ONNX cache of the ORT sessions) removed after the test file. */
export function parityTmp(tag: string): string {
  const tmp = mkdtempSync(join(tmpdir(), `me-${tag}-`));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  return tmp;
}

/** max |a[i] − b[i]| (the lengths must match); NaN anywhere gives Infinity. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** The float64 reference backend, or ORT on the CPU (2 threads, ONNX cache under `tmp`). */
export function openParitySession(dir: string, backend: 'reference' | 'ort', tmp: string): Promise<EngineSession> {
  return openEngineSession(dir, backend === 'ort' ? { ep: 'cpu', cacheRoot: tmp, threads: 2 } : { backend: 'reference' });
}

/** A knockout of a fixture (Mamba-1, transformers): its last-position logits and the target's probabilities. */
export interface FastPathKnock {
  prompt: number;
  layers: number[];
  kind: string;
  /** the conv path, for families that have one (named in the messages) */
  conv?: string;
  lastLogits: number[];
  target: number;
  prob: number;
  cleanProb: number;
  diffPct: number;
}

/**
 * Two tests of the fast path (fused chunk graph, then layer by layer; ORT on the CPU): the knockouts of `exp`, grouped
 * by prompt, through runVariants give diff% within exp.tolerance.diffPctAbs of the fixture, and each variant's
 * probability is within 1e-4 (relative) of one full forward (runVariantsNaive) with the same top-1. `each` adds
 * checks of a variant's fast result.
 */
export function fastPathTests<K extends FastPathKnock>(
  dir: string,
  exp: ParityExpected & { knockout: K[]; tolerance: { diffPctAbs: number } },
  tmp: string,
  variantOf: (k: K, n: number, b: ModelBackend) => Variant,
  each?: (k: K, fast: VariantResult) => void,
): void {
  for (const sweep of ['fused', 'layers'] as const) {
    test(`${exp.name}: fast path (${sweep}) diff% within ${exp.tolerance.diffPctAbs} pp of float64 and equal to one full forward per variant`, async (t) => {
      const s = await openEngineSession(dir, { ep: 'cpu', cacheRoot: tmp, threads: 2, sweep });
      try {
        const b = s.backend;
        assert.equal(b.chunkKnockouts !== undefined, sweep === 'fused');
        let worstPct = 0, worstNaive = 0;
        const byPrompt = new Map<number, K[]>();
        for (const k of exp.knockout) byPrompt.set(k.prompt, [...(byPrompt.get(k.prompt) ?? []), k]);
        for (const [pi, ks] of byPrompt) {
          const ids = Int32Array.from(exp.prompts[pi].ids);
          const target = ks[0].target;
          const variants = ks.map((k) => variantOf(k, ids.length, b));
          // fused: the chunk graph (clean forward + rows in one call); layers: cleanForward + the row sweep
          const { clean, results: fast } = await runKnockouts(b, [{ ids, target }], variants);
          const naive = await runVariantsNaive(b, [{ ids, target }], [target], variants);
          ks.forEach((k, i) => {
            const got = diffPct(clean.baseProbs[0], fast[i].prob);
            worstPct = Math.max(worstPct, Math.abs(got - k.diffPct));
            const what = `${k.kind} layers ${k.layers}${k.conv !== undefined ? ` conv ${k.conv}` : ''}`;
            assert.ok(Math.abs(got - k.diffPct) <= exp.tolerance.diffPctAbs, `${what}: diff% ${got} vs ${k.diffPct}`);
            const rel = Math.abs(fast[i].prob - naive[i].prob) / Math.max(naive[i].prob, 1e-12);
            worstNaive = Math.max(worstNaive, rel);
            assert.ok(rel < 1e-4, `fast path ${fast[i].prob} vs full forward ${naive[i].prob}`);
            assert.equal(fast[i].top1, naive[i].top1);
            each?.(k, fast[i]);
          });
        }
        t.diagnostic(`max |Δdiff%| ${worstPct.toExponential(2)} pp, fast vs full forward max rel |Δp| ${worstNaive.toExponential(2)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }
}
