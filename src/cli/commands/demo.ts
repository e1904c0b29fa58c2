// `mamba-explain demo` (what `npm run demo` runs): a knockout trace of one demo fact on the embedded demo model
// (models/demo), knockout curves printed to the terminal and a standalone HTML report written to demo-report.html.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command';
import { EngineClient } from '../../engine/runtime/client';
import { demoModelDir, packageRoot, parseEp } from '../../engine/engine';
import { UserError } from '../../engine/types';
import type { TraceResult } from '../../engine/experiments/resultTypes';
import type { TraceParams } from '../../engine/experiments/macro';
import { renderTrace } from '../../engine/experiments/render';
import { resolveModelRef } from '../../engine/hub/index';
import { checkNotAFile, CONV_HELP, convPath, printWarnings, progressPrinter } from './trace';
import { familyLabel, renderReportHtml } from '../../report/renderReport';
import { checkOutputFile, writeFileAtomic } from '../../engine/util/atomicFile';
import { defaultMacroWindows } from '../../engine/experiments/common';
import { RESULTS_SCHEMA_VERSION } from '../../engine/experiments/resultTypes';
import { checkProviderChoice } from '../../engine/util/providers';

export interface DemoFact {
  prompt: string;
  subject: string;
  target?: string;
}

/** Used when examples/demo-prompts.json is absent. */
export const BUILTIN_FACT: DemoFact = { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', target: ' Paris' };

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { str?: unknown }).str === 'string') return (v as { str: string }).str;
  return undefined;
}

/** One entry of a prompts file: {prompt, subject, target?}, a '{}' template, or a COUNTERFACT record. */
export function normalizeFact(entry: unknown): DemoFact | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  let e = entry as Record<string, unknown>;
  if (e.requested_rewrite && typeof e.requested_rewrite === 'object') e = { ...(e.requested_rewrite as Record<string, unknown>), ...e };
  const subject = str(e.subject);
  let prompt = str(e.prompt) ?? str(e.text);
  if (!subject || !prompt) return undefined;
  if (prompt.includes('{}')) prompt = prompt.replace('{}', subject);
  if (!prompt.includes(subject)) return undefined;
  const target = str(e.target) ?? str(e.target_true) ?? str(e.answer) ?? str(e.attribute) ?? str(e.object);
  return { prompt, subject, target };
}

/** Reads the facts of a prompts file (a JSON array, or an object with prompts/facts/examples/items). */
export function loadDemoFacts(file: string): DemoFact[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read demo prompts ${file}: ${(e as Error).message}`);
  }
  const obj = data as Record<string, unknown>;
  const list = Array.isArray(data) ? data : [obj?.prompts, obj?.facts, obj?.examples, obj?.items].find(Array.isArray);
  if (!Array.isArray(list)) throw new UserError(`demo prompts ${file} must be a JSON array of {prompt, subject, target} (or an object with a "prompts" array)`);
  const facts = list.map(normalizeFact).filter((f): f is DemoFact => f !== undefined);
  if (facts.length === 0) throw new UserError(`demo prompts ${file} holds no usable {prompt, subject, target} entry (the subject must occur in the prompt)`);
  return facts;
}

/**
 * Window sizes of the demo: k = 9 (the paper's) on deep models; on shallow ones (the 8-layer demo model) a quarter and
 * a half of the depth, so that each curve has several starts to show.
 */
export function demoWindows(nLayer: number): number[] {
  return defaultMacroWindows(nLayer);
}

/** The fact the demo traces by default: the built-in one when the prompts file holds it, else the first. */
export function defaultFactIndex(facts: DemoFact[]): number {
  const i = facts.findIndex((f) => f.prompt === BUILTIN_FACT.prompt && f.subject === BUILTIN_FACT.subject);
  return i >= 0 ? i : 0;
}

export function defaultPromptsFile(): string {
  return path.join(packageRoot(), 'examples', 'demo-prompts.json');
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'trace a demo fact on the embedded demo model and write an HTML report',
  usage: [
    'mamba-explain demo [--report FILE] [--index N] [--prompt TEXT --subject TEXT [--target TEXT]] [--model DIR|HUB-ID[,…]]',
    '                   [--prompts FILE] [--window K[,K…]] [--conv keep|block] [--ep auto|cpu|cuda|webgpu] [--tokenizer FILE] [--max-batch N]',
    '                   [--backend ort|reference] [--json]',
    '',
    `Runs the macro attention-knockout trace of one fact (default: ${JSON.stringify(BUILTIN_FACT.prompt)} → ${JSON.stringify(BUILTIN_FACT.target)},`,
    'taken from examples/demo-prompts.json when it is there, else its first entry) on the demo model (models/demo),',
    'prints the knockout curves and writes a standalone HTML report.',
    '  --window K     window sizes (default: 9 on deep models; a quarter and a half of the depth on shallow ones)',
    '  --report FILE  where to write the report (default demo-report.html in the current folder; its folder must exist)',
    '  --index N      which fact of the prompts file (0-based; default: the Eiffel Tower fact, else 0)',
    '  --prompts FILE the facts to choose from (default examples/demo-prompts.json)',
    '  --model DIR|HUB-ID[,…]  the model: demo (the Mamba-2 demo model, default), demo-mamba1 (the Mamba-1 demo model), demo-transformer\n' +
    '                 (the GPT-NeoX demo model, trained on the same facts), a model',
    '                 folder, or a downloaded Hub id (see `mamba-explain download`). Several, comma-separated (e.g. demo,demo-mamba1,demo-transformer):',
    '                 the fact is traced on each and the report shows them one after the other.',
    CONV_HELP,
    '  --ep auto|cpu|cuda|webgpu  execution provider (default auto: CUDA → WebGPU → CPU); --tokenizer FILE instead of DIR/tokenizer.json;',
    '  --max-batch N  rows per backend call (default 512); --backend ort|reference (default ort; reference = float64 oracle, slow)',
  ].join('\n'),
  options: ['report', 'index', 'prompt', 'subject', 'target', 'model', 'prompts', 'window', 'conv', 'ep', 'backend', 'tokenizer', 'max-batch'],
  async run(opts, io) {
    const modelOpt = opts.string('model');
    const refs = modelOpt === undefined ? ['demo'] : modelOpt.split(',').map((m) => m.trim());
    if (refs.some((m) => m === '')) throw new UserError(`--model: empty model name in '${modelOpt}'`);
    const modelDirs = refs.map((m) => {
      const shipped = demoModelDir(m);
      const dir = shipped ?? resolveModelRef(m);
      checkNotAFile(dir, m);
      if (!fs.existsSync(path.join(dir, 'config.json'))) {
        throw new UserError(
          shipped
            ? `the demo model is missing: ${dir} has no config.json (a git checkout of mamba-explain ships it in models/)`
            : `model folder ${dir} has no config.json`,
        );
      }
      return dir;
    });
    let fact: DemoFact;
    const prompt = opts.string('prompt');
    const subject = opts.string('subject');
    if (prompt !== undefined || subject !== undefined) {
      if (prompt === undefined || subject === undefined) throw new UserError('--prompt and --subject go together');
      fact = { prompt, subject, target: opts.string('target') };
    } else {
      const promptsOpt = opts.string('prompts');
      const file = promptsOpt ? path.resolve(promptsOpt) : defaultPromptsFile();
      let facts: DemoFact[];
      if (fs.existsSync(file)) facts = loadDemoFacts(file);
      else if (promptsOpt) throw new UserError(`prompts file ${file} does not exist`);
      else facts = [BUILTIN_FACT];
      const index = opts.int('index', defaultFactIndex(facts))!;
      if (index < 0 || index >= facts.length) throw new UserError(`--index must be between 0 and ${facts.length - 1}, got ${index}`);
      fact = { ...facts[index] };
      const t = opts.string('target');
      if (t !== undefined) fact.target = t;
    }
    const maxBatch = opts.int('max-batch');
    if (maxBatch !== undefined && maxBatch < 1) throw new UserError(`--max-batch must be ≥ 1, got ${maxBatch}`);
    const backend = opts.string('backend');
    if (backend !== undefined && backend !== 'ort' && backend !== 'reference') throw new UserError(`--backend must be ort or reference, got '${backend}'`);
    const tok = opts.string('tokenizer');
    const windowOpt = opts.intList('window');
    const reportFile = checkOutputFile(opts.string('report') ?? 'demo-report.html', 'report file');
    const ep = parseEp(opts.string('ep'));
    if (backend !== 'reference') checkProviderChoice(ep, undefined);

    const results: TraceResult[] = [];
    const warned = new Set<string>();
    for (const modelDir of modelDirs) {
      if (!io.json) io.err(`demo: ${JSON.stringify(fact.prompt)} (subject ${JSON.stringify(fact.subject)}${fact.target ? `, target ${JSON.stringify(fact.target)}` : ''}) on ${modelDir}`);
      const client = await EngineClient.start({
        modelDir,
        ep,
        tokenizerFile: tok ? path.resolve(tok) : undefined,
        backend: backend as 'ort' | 'reference' | undefined,
        onProgress: io.json ? undefined : progressPrinter(io, 'steps (opening model)'),
      });
      try {
        const params: TraceParams = { prompt: fact.prompt, subject: fact.subject, target: fact.target, windows: windowOpt ?? demoWindows(client.info.config.nLayer), maxBatch, conv: convPath(opts) };
        const result = await client.call<TraceResult>('trace', params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'layer steps') });
        // the warnings are about the inputs: each once, also when several models (tokenizers) raise the same one
        printWarnings(io, (result.warnings ?? []).filter((w) => !warned.has(w.message) && warned.add(w.message)));
        results.push(result);
      } finally {
        await client.dispose();
      }
    }
    const html = renderReportHtml(results.length === 1 ? results[0] : results, { title: `Mamba Explain demo: ${fact.prompt}` });
    writeFileAtomic(reportFile, html);
    if (!io.json) {
      for (const [i, result] of results.entries()) {
        if (results.length > 1) io.out(`${i > 0 ? '\n' : ''}== ${familyLabel(result)}: ${result.provenance.model.path}`);
        io.out(renderTrace(result));
      }
      io.out(`\nreport written to ${reportFile}`);
    }
    const head = { kind: 'demo', schemaVersion: RESULTS_SCHEMA_VERSION, provenance: results[0].provenance };
    return results.length === 1 ? { ...head, fact, report: reportFile, result: results[0] } : { ...head, fact, report: reportFile, results };
  },
};

export default demoCommand;
