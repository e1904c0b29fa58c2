// mamba-explain predict: next-token prediction of a prompt (top-N with probabilities).
import type { Command } from '../command';
import { UserError } from '../../engine/types';
import { openEngineSession, closeEngineSession, parseEp } from '../../engine/engine';
import { computeDType, cudaOptions, MODEL_HELP, modelDir, printWarnings, steerParams } from './trace';
import { checkProviderChoice } from '../../engine/util/providers';
import { provenance, promptWarnings } from '../../engine/experiments/common';
import { RESULTS_SCHEMA_VERSION } from '../../engine/experiments/resultTypes';
import { targetText } from '../../engine/experiments/render';
import { CONTINUATION, tokenLabels } from '../../engine/util/tokenText';
import { compareFloat16, formatFloat16Parity, type Float16Parity } from '../../engine/runtime/float16Parity';
import { predict, steerable, type PredictResult } from '../../engine/runtime/methods';
import type { Options } from '../args';
import type { CommandIO } from '../command';
import type { EngineSession, MethodContext } from '../../engine/types';

export async function openForCli(opts: Options, io: CommandIO): Promise<EngineSession> {
  let last = 0;
  const dir = modelDir(opts);
  const ep = parseEp(opts.string('ep'));
  const dtype = computeDType(opts);
  checkProviderChoice(ep, dtype);
  return openEngineSession(dir, {
    ...cudaOptions(opts),
    ep,
    computeDType: dtype,
    tokenizerFile: opts.string('tokenizer'),
    onProgress: (p) => {
      const now = Date.now();
      if (now - last > 1000 || p.done === p.total) {
        last = now;
        io.err(`${p.message ?? 'working'} (${p.done}/${p.total})`);
      }
    },
  });
}

export function cliContext(io: CommandIO): MethodContext {
  return { progress: () => undefined, cancelled: () => io.signal.aborted };
}

/** The engine options of predict and attention (they open the model in-process), with their defaults. */
export const PREDICT_ENGINE_HELP = [
  MODEL_HELP,
  '  --tokenizer FILE  tokenizer.json to use instead of DIR/tokenizer.json',
  '  --ep EP           execution provider: auto (default; cuda → webgpu → cpu), cuda, webgpu or cpu',
  '  --dtype D         compute precision: float32 (default) or float16 (GPU providers only)',
].join('\n');

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Next-token prediction of a prompt (top-N tokens and probabilities)',
  usage: [
    'Usage: mamba-explain predict --prompt TEXT [--model DIR|HUB-ID] [--top N] [--tokenizer FILE] [--ep auto|cuda|webgpu|cpu] [--dtype float32|float16] [--json]',
    '',
    '  --prompt TEXT     the prompt (no BOS is prepended)',
    '  --top N           how many tokens to list (default 10)',
    PREDICT_ENGINE_HELP,
  ].join('\n'),
  options: ['model', 'prompt', 'top', 'steer', 'tokenizer', 'ep', 'dtype', 'device'],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
    const top = opts.int('top', 10)!;
    const session = await openForCli(opts, io);
    let r: PredictResult & { float16Parity?: Float16Parity };
    let open = true;
    try {
      r = await steerable(predict)(session, { prompt, top, ...steerParams(opts) }, cliContext(io));
      const warnings = promptWarnings(session, prompt, session.tokenizer.encode(prompt), undefined, undefined);
      printWarnings(io, warnings);
      const prov = provenance(session);
      if (!io.json) {
        io.out(`tokens: ${tokenLabels(prompt, r.tokens, r.tokens.map((t) => t.text)).map((t, i) => `${i}:${t === CONTINUATION ? t : JSON.stringify(t)}`).join(' ')}`);
        for (const t of r.top) io.out(`${(t.prob * 100).toFixed(2).padStart(6)}%  ${targetText(t.text)}  (id ${t.id})`);
        io.out(`ep ${r.ep}, forward ${r.timing_ms.forward.toFixed(1)} ms, total ${r.timing_ms.total.toFixed(1)} ms`);
      }
      if (session.computeDType === 'float16') {
        const r16 = await predict(session, { prompt, top: 50 }, cliContext(io));
        open = false;
        await closeEngineSession(session); // before the float32 copy opens: never both models in memory
        const ref = await openEngineSession(modelDir(opts), { ep: parseEp(opts.string('ep')), tokenizerFile: opts.string('tokenizer'), computeDType: 'float32' });
        try {
          r.float16Parity = compareFloat16(prompt, r16, await predict(ref, { prompt, top: 5 }, cliContext(io)));
          io.err(formatFloat16Parity(r.float16Parity));
        } finally {
          await closeEngineSession(ref);
        }
      }
      return { kind: 'prediction', schemaVersion: RESULTS_SCHEMA_VERSION, provenance: prov, prompt, ...r, ...(warnings.length ? { warnings } : {}) };
    } finally {
      if (open) await closeEngineSession(session);
    }
  },
};

export default predictCommand;
