// `mamba-explain tokenize --tokenizer FILE --text TEXT [--json]`: ids, tokens and offsets of a text.
import type { Command } from '../command';
import { loadTokenizer } from '../../engine/tokenizer/index';

export interface TokenizeResult {
  ids: number[];
  tokens: string[];
  /** [start, end) in UTF-16 code units of the text */
  offsets: [number, number][];
}

/** Quoted, with control characters escaped, so that whitespace tokens stay visible. */
function visible(s: string): string {
  return JSON.stringify(s);
}

export function renderTokenTable(text: string, r: TokenizeResult): string {
  const rows = r.ids.map((id, i) => [String(i), String(id), visible(r.tokens[i]), `${r.offsets[i][0]}-${r.offsets[i][1]}`, visible(text.slice(r.offsets[i][0], r.offsets[i][1]))]);
  const head = ['#', 'id', 'token', 'offsets', 'text'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => [...row[c]].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 4 ? cell : cell + ' '.repeat(widths[c] - [...cell].length))).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `${r.ids.length} token${r.ids.length === 1 ? '' : 's'}`].join('\n');
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'tokenise a text with a tokenizer.json (ids, tokens, offsets)',
  usage: [
    'Usage: mamba-explain tokenize --tokenizer FILE --text TEXT [--json]',
    '',
    '  --tokenizer FILE  a Hugging Face tokenizer.json (byte-level BPE, e.g. gpt-neox-20b)',
    '  --text TEXT       the text to tokenise (no BOS is added)',
    '  --json            print {"ids":[...],"tokens":[...],"offsets":[[start,end],...]} (UTF-16 offsets)',
  ].join('\n'),
  options: ['tokenizer', 'text'],
  async run(opts, io) {
    const tokenizer = loadTokenizer(opts.required('tokenizer'));
    const text = opts.required('text');
    const e = tokenizer.encode(text);
    const result: TokenizeResult = { ids: e.ids, tokens: e.tokens, offsets: e.offsets };
    if (!io.json) io.out(renderTokenTable(text, result));
    return result;
  },
};
