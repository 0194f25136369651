// The in-memory state store (one process) against the state-store contract, and its votes kept
// in a file across a restart.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MemoryStateStore } from '../../src/state/memory.ts';
import { stateStoreContract, voteBy } from '../helpers/state-contract.ts';
import { tempDir } from '../helpers/tmp.ts';

stateStoreContract('memory', async (now) => {
  const store = new MemoryStateStore({ now });
  return { store, close: () => store.close() };
});

test('memory: votes persist in their file as JSON lines and come back after a restart', async () => {
  const dir = tempDir('newsbot-feedback-');
  const file = path.join(dir, 'data', 'feedback.jsonl');
  const first = new MemoryStateStore({ feedbackFile: file });
  assert.deepEqual(await first.feedback.all(), [], 'no file yet: no votes, and nothing written');
  assert.deepEqual(readdirSync(dir), []);
  await first.feedback.vote(voteBy('u1', 1, 'up', 1_000));
  await Promise.all([first.feedback.vote(voteBy('u1', 1, 'down', 2_000)), first.feedback.vote(voteBy('u2', 1, 'up', 3_000))]);
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines, [voteBy('u1', 1, 'down', 2_000), voteBy('u2', 1, 'up', 3_000)], 'one line per vote, the last press of each');
  assert.deepEqual(readdirSync(path.dirname(file)), ['feedback.jsonl'], 'no temporary file left behind');

  const restarted = new MemoryStateStore({ feedbackFile: file });
  assert.deepEqual(await restarted.feedback.counts(), { up: 1, down: 1 });
  assert.equal(await restarted.feedback.vote(voteBy('u1', 1, 'up', 4_000)), 'down', 'the vote before the restart is the one changed');
  assert.deepEqual(await restarted.feedback.counts(), { up: 2, down: 0 });
});

test('memory: a damaged votes file is refused with its path, not silently overwritten', async () => {
  const file = path.join(tempDir('newsbot-feedback-'), 'feedback.jsonl');
  writeFileSync(file, '{"vote":"up"\n');
  const store = new MemoryStateStore({ feedbackFile: file });
  await assert.rejects(store.feedback.counts(), new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await assert.rejects(store.feedback.vote(voteBy('u1', 1, 'up', 1)));
  assert.equal(readFileSync(file, 'utf8'), '{"vote":"up"\n');
});
