// A dataset for the sharding and multi-device tests: demo facts the demo model knows and does not know, rows the loader
// cannot use, a selected prompt that cannot be measured, and prompts that carry warnings; and the comparison helper.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetRunResult as DRR } from '../../../src/engine/experiments/resultTypes';

const ROOT = path.resolve(__dirname, '../../..');

/** Everything of a results file but the wall-clock figures. */
export const comparable = (r: DRR) => ({ ...r, timing: undefined, provenance: { ...r.provenance, createdAt: '' } });

/** A dataset with every kind of row: known and unknown facts, unusable rows, unmeasurable and warned prompts. */
export function writeMixedDataset(folder: string, facts = 40): string {
  const all = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/demo-facts.json'), 'utf8')) as object[];
  const rows: object[] = all.filter((_, i) => i % 7 === 0).slice(0, facts);
  rows.splice(3, 0, { prompt: 'The capital of Spain is ', subject: 'Spain', target_true: ' Madrid' }); // trailing whitespace
  rows.splice(9, 0, { prompt: 'The capital of Italy is', subject: 'Italy', target_true: ' Eiffel Tower' }); // several tokens
  rows.splice(14, 0, { prompt: 'The capital of Peru is', subject: 'Chile', target_true: ' Lima' }); // unusable: subject not in the prompt
  rows.splice(17, 0, { prompt: 'Capital e\u0301 is', subject: '\u0301', target_true: ' x' }); // selected, but its subject covers no token
  rows.splice(20, 0, { prompt: 'no target here', subject: 'here' }); // unusable
  rows.push({ prompt: 'The capital of Norway is', subject: 'Norway', target_true: '' }); // unusable
  const f = path.join(folder, 'mixed.json');
  fs.writeFileSync(f, JSON.stringify(rows));
  return f;
}

