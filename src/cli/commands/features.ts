// `mamba-explain features`: the static decay score of every feature (Mamba-2 heads, Mamba-1 channels) per layer and
// its fast / middle / slow thirds (SPEC §4), the groups --features fast|middle|slow knocks out.
import type { Command } from '../command';
import { openCheckpoint } from '../../engine/checkpoint/index';
import { familyOf } from '../../engine/arch/index';
import { decayHistogram, featuresReport, logScale } from '../../engine/experiments/features';
import { modelDir } from './trace';

export const featuresCommand: Command = {
  name: 'features',
  summary: 'decay score of every head / channel per layer and its fast / middle / slow thirds (feature knockout groups)',
  usage: [
    'mamba-explain features [--model DIR|HUB-ID|demo|demo-mamba1] [--json]',
    '',
    'Static decay score per feature (input-independent, exp(A) at Δ = 1): Mamba-2 head h: exp(−exp(A_log[h])); Mamba-1',
    'channel c: Σ_n exp(−exp(A_log[c, n])). Per layer the features are sorted by (score, index): the first n // 3 are the',
    '"fast" group (they forget within a few tokens), the last n // 3 the "slow" group, the rest "middle".',
    'JSON: {"unit":"head"|"channel","count":n,"layers":[{"scores":[…],"fast":[…],"middle":[…],"slow":[…]},…]}',
  ].join('\n'),
  options: ['model'],
  async run(opts, io) {
    const ckpt = await openCheckpoint(modelDir(opts));
    try {
      const r = featuresReport(ckpt);
      if (!io.json) {
        const c = ckpt.config;
        io.out(`${familyOf(c).describe(c)}: ${r.count} ${r.unit}s per layer, thirds of ${Math.floor(r.count / 3)} (fast) / ${r.count - 2 * Math.floor(r.count / 3)} (middle) / ${Math.floor(r.count / 3)} (slow)`);
        const log = r.layers.some((l) => logScale(l.scores));
        io.out(`layer  score range            histogram${log ? ' of log10(score)' : ''} (low = fast … high = slow)   fast ≤        slow ≥`);
        const num = (v: number) => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toPrecision(4));
        const short = (xs: number[]) => (xs.length <= 8 ? xs.join(',') : `${xs.slice(0, 6).join(',')},… (${xs.length})`);
        r.layers.forEach((l, i) => {
          const lo = Math.min(...l.scores), hi = Math.max(...l.scores);
          const fastMax = l.fast.length ? Math.max(...l.fast.map((u) => l.scores[u])) : NaN;
          const slowMin = l.slow.length ? Math.min(...l.slow.map((u) => l.scores[u])) : NaN;
          io.out(`${String(i).padStart(5)}  ${num(lo).padStart(9)} … ${num(hi).padEnd(9)}  ${decayHistogram(l)}   ${num(fastMax).padEnd(12)}  ${num(slowMin)}`);
          if (r.count <= 64) io.out(`       fast ${short(l.fast)}   slow ${short(l.slow)}`);
        });
      }
      return r;
    } finally {
      ckpt.close();
    }
  },
};

export default featuresCommand;
