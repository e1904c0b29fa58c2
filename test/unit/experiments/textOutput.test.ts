// Readable text: tokens with their leading space, byte pieces of one character shown once, the start axis past 10
// starts, sparkline scales, window captions; the warnings about inputs that change the experiment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CONTINUATION, decodedLabels, tokenLabels, tokenPieces, visibleToken } from '../../../src/engine/util/tokenText';
import { renderTrace, sparkScale, startAxis, tokenList, windowCaption, windowLayers } from '../../../src/engine/experiments/render';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import { promptWarnings, defaultMacroWindows } from '../../../src/engine/experiments/common';
import { subjectPositions } from '../../../src/engine/experiments/positions';
import { sampleTrace } from '../../webview/samples';

const DEMO_TOKENIZER = path.resolve(__dirname, '../../../models/demo/tokenizer.json');

test('token pieces: leading space belongs to the token, byte pieces of one character show it once', () => {
  const tok = loadTokenizer(DEMO_TOKENIZER);
  const text = 'The Eiffel Tower in café 😀 ok ';
  const e = tok.encode(text);
  const spans = e.offsets.map(([start, end]) => ({ start, end }));
  const pieces = tokenPieces(text, spans);
  assert.equal(pieces.join(''), text, 'the pieces add up to the prompt');
  const labels = tokenLabels(text, spans);
  assert.deepEqual(labels.slice(0, 5), ['The', '·E', 'iff', 'el', '·Tower']);
  // the emoji is 4 byte-level tokens with the same offsets: the character once, then (cont.)
  const at = pieces.indexOf('😀');
  assert.ok(at > 0);
  assert.deepEqual(labels.slice(at, at + 4), ['😀', CONTINUATION, CONTINUATION, CONTINUATION]);
  assert.equal(labels[labels.length - 1], '·', 'a trailing space token is visible');
  assert.equal(visibleToken('\n\tx'), '⏎⇥x');
  assert.deepEqual(decodedLabels([' Tower', '\ufffd', '\ufffd', ' ok']), ['·Tower', '\ufffd', CONTINUATION, '·ok']);
});

test('start axis: digits up to 10 starts, a ruler with labels every 5 starts beyond', () => {
  assert.equal(startAxis([0, 1, 2, 3, 4]), '01234');
  const s16 = startAxis(Array.from({ length: 16 }, (_, i) => i));
  assert.equal(s16, '0    5    10   15');
  assert.equal(s16.indexOf('10'), 10);
  assert.equal(s16.indexOf('15'), 15);
  const s40 = startAxis(Array.from({ length: 40 }, (_, i) => i));
  assert.equal(s40.indexOf('35'), 35);
  assert.ok(s40.length <= 41);
});

test('trace text: tokens with their space, scale of the bars, window caption, layers of the minimum', () => {
  const r = sampleTrace([9, 15]);
  const txt = renderTrace(r);
  assert.match(txt, /tokens {3}0:"The" 1:"·E"\* 2:"iff"\* 3:"el"\* 4:"·Tower"\* 5:"·is"/);
  assert.match(txt, /window k=9, starts ℓ=0…15 \(the window starting at layer ℓ covers layers ℓ…ℓ\+8\)/);
  assert.match(txt, /diff% of p′ vs p; bars ▁ -\d+\.\d% … █ \+\d+\.\d%/);
  assert.match(txt, /subject +\S+ +min -\d+\.\d% at ℓ=(\d+) \(layers \1…\d+\); still top-1/);
  assert.match(txt, /ℓ {9}0 {4}5 {4}10 {3}15\n/, 'ruler for 16 starts');
  assert.equal(windowLayers(4, 4), 'layers 4…7');
  assert.equal(windowLayers(3, 1), 'layer 3');
  assert.match(windowCaption(1), /layer ℓ alone/);
  assert.equal(sparkScale([-99.9, 0.5]), '▁ -99.9% … █ +0.5%');
  assert.equal(tokenList(r.prompt, r.tokens.slice(0, 2)), '0:"The" 1:"·E"');
});

test('default macro windows: 9 on deep models, a quarter and a half of shallow ones', () => {
  assert.deepEqual(defaultMacroWindows(24), [9]);
  assert.deepEqual(defaultMacroWindows(48), [9]);
  assert.deepEqual(defaultMacroWindows(8), [2, 4]);
  assert.deepEqual(defaultMacroWindows(12), [3, 6]);
  assert.deepEqual(defaultMacroWindows(1), [1]);
});

test('warnings: several-token target, subject covering the last position, empty relation set, trailing whitespace', () => {
  const tok = loadTokenizer(DEMO_TOKENIZER);
  const session = { tokenizer: tok };
  const codes = (prompt: string, subject: string | undefined, target: string | undefined) => {
    const enc = tok.encode(prompt);
    const pos = subject ? subjectPositions(prompt, subject, enc) : undefined;
    return promptWarnings(session, prompt, enc, pos, target);
  };
  assert.deepEqual(codes('The Eiffel Tower is located in the city of', 'The Eiffel Tower', 'Paris'), []);
  const multi = codes('The Eiffel Tower is located in the city of', 'The Eiffel Tower', 'Paris Hilton');
  assert.deepEqual(multi.map((w) => w.code), ['multi-token-target']);
  assert.match(multi[0].message, /^the target " Paris Hilton" is \d tokens \("·Paris", .*\): only the first, "·Paris", is followed/);
  const last = codes('The city of Paris', 'Paris', undefined);
  assert.deepEqual(last.map((w) => w.code), ['subject-covers-last']);
  assert.match(last[0].message, /covers the last position \("·Paris" at position 3\)/);
  const empty = codes('Beats Music is', 'Beats Music', undefined);
  assert.deepEqual(empty.map((w) => w.code), ['empty-relation']);
  const ws = codes('Beats Music is owned by ', 'Beats Music', undefined);
  assert.deepEqual(ws.map((w) => w.code), ['trailing-whitespace']);
  assert.match(ws[0].message, /its last token is "·" at position 6/);
});
