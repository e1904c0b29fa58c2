// `mamba-explain report --input FILE --out FILE.html`: one self-contained HTML page (inline SVG figures, no script)
// of any results file: trace, micro, dataset run (also its .partial.json checkpoint) and `demo --json`.
import type { Command } from '../command';
import { UserError } from '../../engine/types';
import { RESULTS_SCHEMA_VERSION, type ToolProvenance } from '../../engine/experiments/resultTypes';
import { DARK_THEME, LIGHT_THEME } from '../../../webview/shared/colors';
import { exportReportOfFile } from '../../report/index';
import { TOOL_VERSION } from '../../engine/version';
import { sha256File } from '../../engine/util/hash';

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a results file (trace, micro, dataset run) as a standalone HTML report',
  usage: [
    'mamba-explain report --input FILE --out FILE.html [--theme light|dark] [--title TEXT] [--json]',
    '',
    'Writes one self-contained HTML page (vector SVG figures, no script, no remote content) of a results file:',
    '`trace --json` / `micro --json` output, a `run --out` file (one figure per window and split, with the 95% bands;',
    'also its .partial.json checkpoint), or `demo --json` output. The clean prediction, the micro heatmap, the warnings,',
    'the counts and a provenance table are included.',
    '  --input FILE   the results file (JSON)',
    '  --out FILE     the HTML file to write (its folder must exist; checked before anything is read)',
    '  --theme T      light (default) or dark',
    '  --title TEXT   the page title (default: "Mamba Explain — <what the result is>")',
  ].join('\n'),
  options: ['input', 'out', 'theme', 'title'],
  async run(opts, io) {
    const input = opts.required('input');
    const out = opts.required('out');
    const themeName = opts.string('theme') ?? 'light';
    if (themeName !== 'light' && themeName !== 'dark') throw new UserError(`--theme must be light or dark, got '${themeName}'`);
    const { input: inAbs, out: outAbs, loaded } = exportReportOfFile(input, out, { theme: themeName === 'dark' ? DARK_THEME : LIGHT_THEME, title: opts.string('title') });
    const kinds = [...new Set(loaded.results.map((r) => r.kind))];
    if (!io.json) io.out(`report of ${inAbs} (${loaded.results.length > 1 ? `${loaded.results.length} results, ` : ''}${kinds.join(', ')}) written to ${outAbs}`);
    const provenance: ToolProvenance = { tool: { name: 'mamba-explain', version: TOOL_VERSION }, createdAt: new Date().toISOString() };
    return {
      kind: 'report',
      schemaVersion: RESULTS_SCHEMA_VERSION,
      provenance,
      input: inAbs,
      inputSha256: sha256File(inAbs),
      out: outAbs,
      results: loaded.results.map((r) => ({ kind: r.kind, schemaVersion: r.schemaVersion, model: r.provenance.model.path, createdAt: r.provenance.createdAt })),
    };
  },
};

export default reportCommand;
