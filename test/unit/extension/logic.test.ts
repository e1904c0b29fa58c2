import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { guessSubject, validateSubject } from '../../../src/extension/logic/subject';
import { normalisePrompt, promptFromSelections } from '../../../src/extension/logic/selection';
import { chooseWindows, parseWindows, suggestWindow } from '../../../src/extension/logic/windows';
import { datasetSlug, isResultsFileName, resultsFilePath, timestamp } from '../../../src/extension/logic/resultsPath';
import { checkModelTrust, isInside } from '../../../src/extension/logic/trust';
import { findTraceableRecords, recordToTrace } from '../../../src/extension/logic/counterfact';
import { formatRate, modelLabel, modelSetting } from '../../../src/extension/logic/modelRef';

test('guessSubject: longest capitalised span', () => {
  assert.equal(guessSubject('Beats Music is owned by'), 'Beats Music');
  assert.equal(guessSubject('The capital of France is'), 'France');
  assert.equal(guessSubject('The mother tongue of Danielle Darrieux is'), 'Danielle Darrieux');
  assert.equal(guessSubject("Toko Yasuda's instrument is the"), 'Toko Yasuda');
  assert.equal(guessSubject('Apple A5 was created by'), 'Apple A5');
  assert.equal(guessSubject('The Beatles were formed in'), 'Beatles');
  assert.equal(guessSubject('no capitals here'), '');
});

test('validateSubject', () => {
  assert.equal(validateSubject('Beats Music is owned by', 'Beats Music'), undefined);
  assert.match(validateSubject('Beats Music is owned by', 'Apple')!, /does not occur/);
  assert.match(validateSubject('Beats Music is owned by', '  ')!, /empty/);
});

test('promptFromSelections: longest is the prompt, another contained one the subject', () => {
  assert.equal(promptFromSelections([]), undefined);
  assert.equal(promptFromSelections([{ text: '  ', start: 0, end: 2 }]), undefined);
  assert.deepEqual(promptFromSelections([{ text: 'Beats Music is\n owned by', start: 0, end: 24 }]), { prompt: 'Beats Music is owned by' });
  assert.deepEqual(
    promptFromSelections([
      { text: 'Beats', start: 0, end: 5 },
      { text: 'Beats Music is owned by', start: 0, end: 23 },
    ]),
    { prompt: 'Beats Music is owned by', subject: 'Beats' },
  );
  assert.deepEqual(
    promptFromSelections([
      { text: 'Beats Music is owned by', start: 0, end: 23 },
      { text: 'Apple', start: 40, end: 45 },
    ]),
    { prompt: 'Beats Music is owned by' },
  );
  assert.equal(normalisePrompt(' a \n\t b '), 'a b');
});

test('windows: settings value when it fits the depth, else an error', () => {
  assert.deepEqual(chooseWindows([9, 15], 24), { ok: true, windows: [9, 15] });
  const r = chooseWindows([9, 15], 4);
  assert.equal(r.ok, false);
  assert.match((r as { message: string }).message, /9, 15 exceed the model's 4 layers/);
  assert.equal(chooseWindows([], 4).ok, false);
  assert.equal(chooseWindows([1.5], 4).ok, false);
  assert.deepEqual(chooseWindows([2, 2, 3], 4), { ok: true, windows: [2, 3] });
  assert.deepEqual(parseWindows('9, 15'), [9, 15]);
  assert.equal(parseWindows('9, x'), undefined);
  assert.equal(parseWindows(''), undefined);
  assert.equal(suggestWindow(4), 1);
  assert.equal(suggestWindow(24), 8);
});

test('results file naming', () => {
  const d = new Date(Date.UTC(2026, 10, 22, 9, 5, 7));
  assert.equal(timestamp(d), '20261122-090507');
  assert.equal(datasetSlug('/x/y/My Facts (v2).json'), 'My-Facts-v2');
  assert.equal(datasetSlug('/x/.json'), 'dataset');
  const p = resultsFilePath('/ws', '/data/counterfact.json', 'macro', d);
  assert.equal(p, path.join('/ws', '.mamba-explain', 'runs', '20261122-090507-counterfact-macro.json'));
  assert.ok(isResultsFileName(path.basename(p)));
  assert.ok(!isResultsFileName(path.basename(p) + '.partial.json'));
});

test('trust check: untrusted workspace refuses models inside its folders', () => {
  assert.ok(isInside('/ws/models/m', '/ws'));
  assert.ok(isInside('/ws', '/ws'));
  assert.ok(!isInside('/ws2/m', '/ws'));
  assert.ok(!isInside('/other/m', '/ws'));
  assert.equal(checkModelTrust('/ws/models/m', { trusted: true, workspaceFolders: ['/ws'] }), undefined);
  assert.match(checkModelTrust('/ws/models/m', { trusted: false, workspaceFolders: ['/ws'] })!, /untrusted workspace folder \/ws/);
  assert.equal(checkModelTrust('/ext/models/demo', { trusted: false, workspaceFolders: ['/ws'] }), undefined);
});

test('CodeLens records of COUNTERFACT-style files', () => {
  const text = JSON.stringify(
    [
      { prompt: 'Beats Music is owned by', subject: 'Beats Music', target_true: ' Apple' },
      { case_id: 1, requested_rewrite: { prompt: '{} is owned by', subject: 'Apple A5', target_true: { str: 'Apple' } } },
      { nothing: true },
      'a string',
    ],
    null,
    2,
  );
  const recs = findTraceableRecords(text);
  assert.equal(recs.length, 2);
  assert.equal(recs[0].prompt, 'Beats Music is owned by');
  assert.equal(text[recs[0].offset], '{');
  assert.equal(recs[1].prompt, 'Apple A5 is owned by');
  assert.equal(recs[1].target, ' Apple');
  assert.ok(text.slice(recs[1].offset).startsWith('{\n    "case_id"'));
  assert.deepEqual(findTraceableRecords('not json'), []);
  assert.equal(recordToTrace({ prompt: 'x', subject: 'y' }), undefined);
});

test('model setting and labels', () => {
  assert.deepEqual(modelSetting('', '/ext'), { ref: path.join('/ext', 'models', 'demo'), embedded: true });
  assert.deepEqual(modelSetting(' state-spaces/mamba2-130m ', '/ext'), { ref: 'state-spaces/mamba2-130m', embedded: false });
  assert.equal(modelLabel('/a/b/mamba2-130m/', false), 'mamba2-130m');
  assert.equal(modelLabel('state-spaces/mamba2-130m', false), 'state-spaces/mamba2-130m');
  assert.equal(modelLabel('/ext/models/demo', true), 'demo');
  assert.equal(formatRate(2.345, 65), '2.3 prompts/s · ETA 1m 05s');
  assert.equal(formatRate(undefined, undefined), '');
});

test('windowsFromSetting: the built-in default is clipped for shallow models, a user value is not', async () => {
  const { windowsFromSetting } = await import('../../../src/extension/logic/windows');
  assert.deepEqual(windowsFromSetting([9, 15], false, 24), { ok: true, windows: [9, 15] });
  assert.deepEqual(windowsFromSetting([9, 15], false, 8), { ok: true, windows: [4] });
  assert.deepEqual(windowsFromSetting([9, 15], false, 12), { ok: true, windows: [9] });
  assert.equal(windowsFromSetting([9, 15], true, 8).ok, false);
});
