// mamba-explain predict: next-token prediction of a prompt (top-N with probabilities).
import type { Command } from '../command';
import { UserError } from '../../engine/types';
import { openEngineSession, closeEngineSession, parseEp } from '../../engine/engine';
import { computeDType, modelDir } from './trace';
import { compareFloat16, formatFloat16Parity, type Float16Parity } from '../../engine/runtime/float16Parity';
import { predict, type PredictResult } from '../../engine/runtime/methods';
import type { Options } from '../args';
import type { CommandIO } from '../command';
import type { EngineSession, MethodContext } from '../../engine/types';

export async function openForCli(opts: Options, io: CommandIO): Promise<EngineSession> {
  let last = 0;
  return openEngineSession(modelDir(opts), {
    ep: parseEp(opts.string('ep')),
    computeDType: computeDType(opts),
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

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Next-token prediction of a prompt (top-N tokens and probabilities)',
  usage: [
    'Usage: mamba-explain predict --prompt TEXT [--model DIR] [--top N] [--tokenizer FILE] [--ep auto|cuda|webgpu|cpu] [--json]',
    '',
    '  --model DIR       model folder (config.json + weights [+ tokenizer.json]); default: the bundled demo model',
    '  --prompt TEXT     the prompt (no BOS is prepended)',
    '  --top N           how many tokens to list (default 10)',
    '  --tokenizer FILE  tokenizer.json to use instead of DIR/tokenizer.json',
    '  --ep EP           execution provider: auto (cuda → webgpu → cpu), cuda, webgpu or cpu',
  ].join('\n'),
  options: ['model', 'prompt', 'top', 'tokenizer', 'ep', 'dtype'],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
    const top = opts.int('top', 10)!;
    const session = await openForCli(opts, io);
    let r: PredictResult & { float16Parity?: Float16Parity };
    let open = true;
    try {
      r = await predict(session, { prompt, top }, cliContext(io));
      if (!io.json) {
        io.out(`tokens: ${r.tokens.map((t) => JSON.stringify(t.text)).join(' ')}`);
        for (const t of r.top) io.out(`${(t.prob * 100).toFixed(2).padStart(6)}%  ${JSON.stringify(t.text)}  (id ${t.id})`);
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
      return r;
    } finally {
      if (open) await closeEngineSession(session);
    }
  },
};

export default predictCommand;
