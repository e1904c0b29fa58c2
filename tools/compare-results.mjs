#!/usr/bin/env node
// Compares two dataset-run results files (docs/results-schema.md) prompt by prompt: how many per-prompt numbers the
// prompts they share have, the largest absolute difference among them, and how many true/false fields differ.
// Used to check that two ways of running the same experiment (e.g. --sweep fused vs --sweep layers, or two providers)
// give the same results.
//   node tools/compare-results.mjs A.json B.json
import { readFileSync } from 'node:fs';

const [fa, fb] = process.argv.slice(2);
if (!fa || !fb) {
  console.error('usage: node tools/compare-results.mjs A.json B.json');
  process.exit(2);
}
const load = (f) => {
  const r = JSON.parse(readFileSync(f, 'utf8'));
  if (r.kind !== 'dataset-run') throw new Error(`${f} is not a dataset-run results file (kind ${r.kind})`);
  return r;
};
const a = load(fa);
const b = load(fb);
const byIndex = new Map(a.prompts.map((p) => [p.index, p]));
let numbers = 0;
let maxAbs = 0;
let flags = 0;
let flagDiffs = 0;
let common = 0;
const walk = (x, y) => {
  if (Array.isArray(x) && Array.isArray(y)) x.forEach((v, i) => walk(v, y[i]));
  else if (x && y && typeof x === 'object' && typeof y === 'object') for (const k of Object.keys(x)) walk(x[k], y[k]);
  else if (typeof x === 'boolean' && typeof y === 'boolean') {
    flags++;
    if (x !== y) flagDiffs++;
  } else if (typeof x === 'number' && typeof y === 'number') {
    numbers++;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
  }
};
for (const p of b.prompts) {
  const q = byIndex.get(p.index);
  if (!q) continue;
  common++;
  walk(q, p);
}
const who = (r) => `${r.provenance.ep}${r.provenance.sweep ? `, sweep ${r.provenance.sweep}` : ''}, ${r.provenance.computeDType}`;
console.log(`A: ${fa} (${who(a)}, ${a.prompts.length} prompts)`);
console.log(`B: ${fb} (${who(b)}, ${b.prompts.length} prompts)`);
console.log(`prompts in both: ${common}; numbers compared: ${numbers}, largest |A − B|: ${maxAbs}; true/false fields: ${flags}, differing: ${flagDiffs}`);
