import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSets, resolveSet, resolveTargetId, subjectHasFirst, subjectPositions } from '../../../src/engine/experiments/positions';
import { UserError, type Encoding } from '../../../src/engine/types';
import { WordTokenizer } from './fixtures';

const tok = new WordTokenizer(1000);

test('subject positions: tokens overlapping the first occurrence; relation = the rest but the last', () => {
  const prompt = 'The mother tongue of Danielle Darrieux is';
  const enc = tok.encode(prompt);
  const pos = subjectPositions(prompt, ' Danielle Darrieux', enc);
  assert.deepEqual(pos.subject, [4, 5]);
  assert.deepEqual(pos.relation, [0, 1, 2, 3]);
  assert.equal(pos.last, 6);
  assert.equal(subjectHasFirst(pos), false);
  assert.deepEqual(resolveSet('first', pos), [0]);
  assert.deepEqual(resolveSet('all', pos), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(resolveSet('last', pos), [6]);
  assert.deepEqual(resolveSet('custom:0+5', pos), [0, 5]);
  assert.throws(() => resolveSet('custom:0+9', pos), /outside the prompt/);
});

test('subject positions: partial-token overlap, first occurrence only, subject at position 0', () => {
  const prompt = 'Paris is the capital of Paris-land, and Paris';
  const enc = tok.encode(prompt);
  const pos = subjectPositions(prompt, 'Paris', enc);
  assert.deepEqual(pos.subject, [0]);
  assert.equal(subjectHasFirst(pos), true);
  // a subject that cuts a token in half takes the whole token
  const enc2: Encoding = { ids: [1, 2, 3], tokens: ['Ab', 'cd', 'ef'], offsets: [[0, 2], [2, 4], [4, 6]] };
  assert.deepEqual(subjectPositions('Abcdef', 'bc', enc2).subject, [0, 1]);
});

test('subject not in prompt is a UserError naming both', () => {
  const prompt = 'The Eiffel Tower is in';
  assert.throws(
    () => subjectPositions(prompt, 'Big Ben', tok.encode(prompt)),
    (e: unknown) => e instanceof UserError && e.message === `subject 'Big Ben' not found in prompt 'The Eiffel Tower is in'`,
  );
});

test('target resolution: leading space prepended; tokenises to nothing is a UserError', () => {
  const a = resolveTargetId(tok, 'Paris');
  const b = resolveTargetId(tok, ' Paris');
  assert.equal(a.id, b.id);
  assert.equal(a.id, tok.encode(' Paris').ids[0]);
  assert.throws(() => resolveTargetId(tok, ''), /tokenises to nothing/);
  const empty = { ...tok, encode: () => ({ ids: [], tokens: [], offsets: [] }), decode: () => '' } as unknown as WordTokenizer;
  assert.throws(() => resolveTargetId(empty, 'x'), (e: unknown) => e instanceof UserError && /target 'x' tokenises to nothing/.test(e.message));
});

test('parseSets accepts the named sets and custom lists, rejects others', () => {
  assert.deepEqual(parseSets(undefined), ['subject', 'relation', 'last']);
  assert.deepEqual(parseSets('subject,first,all,custom:0+2'), ['subject', 'first', 'all', 'custom:0+2']);
  assert.throws(() => parseSets('subject,verbs'), /unknown source set 'verbs'/);
});
