// The pieces of 👍 👎 that need no bot: what a press stores and says, /stats' lines, the export.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { feedbackLines } from '../../src/bot/handlers/admin.ts';
import { hashId, voteRecord, voteToast } from '../../src/bot/handlers/feedback.ts';
import { votesAsJsonLines, votesSummary } from '../../src/cli/feedback-export.ts';
import { silentLogger } from '../../src/log.ts';
import { MemoryStateStore } from '../../src/state/memory.ts';
import type { StateStore } from '../../src/state/port.ts';
import { answerOf, voteBy } from '../helpers/state-contract.ts';

test('the toast says what the press did', () => {
  assert.equal(voteToast('up', undefined), '已记录：👍');
  assert.equal(voteToast('up', 'up'), '已记录：👍', 'the same press again keeps the vote');
  assert.equal(voteToast('down', 'up'), '已改为 👎');
  assert.equal(voteToast('up', 'down'), '已改为 👍');
});

test('ids are stored as hashes: stable, 16 hex digits, different per id', () => {
  assert.match(hashId(1001), /^[0-9a-f]{16}$/);
  assert.equal(hashId(1001), hashId(1001));
  assert.notEqual(hashId(1001), hashId(1002));
  assert.notEqual(hashId(-1001), hashId(1001));
});

test("a vote keeps the turn's standalone question, the answer, its citations, mode and timings, no raw ids", () => {
  const answer = answerOf('共有65名志愿者参与[1]', 'b.txt#2', '邓州爱心早餐有多少名志愿者参与？');
  const turns = [{ question: '邓州早餐成本？' }, { question: '邓州爱心早餐有多少名志愿者参与？', answer: answer.text }];
  const vote = voteRecord({ vote: 'down', chatId: -100777, chatType: 'supergroup', messageId: 42, userId: 1001, answer, turns, time: 5 });
  assert.deepEqual(vote, {
    time: 5,
    vote: 'down',
    answerId: `${hashId(-100777)}:42`,
    userHash: hashId(1001),
    chatHash: hashId(-100777),
    chatType: 'supergroup',
    question: '邓州爱心早餐有多少名志愿者参与？',
    answer: '共有65名志愿者参与[1]',
    citations: [{ articleId: 'b.txt#2', headline: '标题' }],
    mode: 'extractive',
    refused: false,
    timings: { totalMs: 12, retrieveMs: 5, generateMs: 0.5 },
  });
  assert.doesNotMatch(JSON.stringify(vote), /1001|100777/);
  const lost = voteRecord({ vote: 'up', chatId: 1, chatType: 'private', messageId: 1, userId: 1, answer: answerOf('回答'), time: 5 });
  assert.equal(lost.question, '', 'no turn recorded: no question rather than a wrong one');
});

test('/stats lines: the counts, then the latest 👎 newest first, trimmed and escaped', async () => {
  const stateStore = new MemoryStateStore();
  assert.deepEqual(await feedbackLines({ stateStore, logger: silentLogger }), ['回答评价：👍 0 · 👎 0']);
  await stateStore.feedback.vote(voteBy('u1', 1, 'up', 1));
  await stateStore.feedback.vote(voteBy('u1', 2, 'down', 2, '<b>一个'.padEnd(60, '长') + '问题'));
  for (let i = 3; i <= 8; i++) await stateStore.feedback.vote(voteBy('u2', i, 'down', i));
  const lines = await feedbackLines({ stateStore, logger: silentLogger });
  assert.deepEqual(lines.slice(0, 2), ['回答评价：👍 1 · 👎 7', '最近的 👎：']);
  assert.deepEqual(lines.slice(2), ['• 问题8', '• 问题7', '• 问题6', '• 问题5', '• 问题4'], 'five at most');
  await stateStore.feedback.vote(voteBy('u2', 9, 'down', 9, '<b>一个'.padEnd(60, '长')));
  const [, , first] = await feedbackLines({ stateStore, logger: silentLogger });
  assert.equal(first, `• &lt;b&gt;一个${'长'.repeat(35)}…`);
});

test('/stats still shows when the votes cannot be read', async () => {
  const broken = { feedback: { counts: () => Promise.reject(new Error('down')), recent: () => Promise.reject(new Error('down')) } } as unknown as StateStore;
  assert.deepEqual(await feedbackLines({ stateStore: broken, logger: silentLogger }), ['回答评价：暂时无法读取']);
});

test('the export: one JSON line per vote with an ISO time; the summary for people', () => {
  const votes = [voteBy('u1', 1, 'up', Date.UTC(2026, 10, 22, 2, 30)), voteBy('u2', 1, 'down', Date.UTC(2026, 10, 22, 2, 31), '杭州建了多少个驿站？')];
  const lines = votesAsJsonLines(votes).split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2], '', 'each line ends in a newline');
  const second = JSON.parse(lines[1]);
  assert.equal(second.time, '2026-11-22T02:31:00.000Z');
  assert.deepEqual(Object.keys(second), ['time', 'vote', 'question', 'answer', 'citations', 'mode', 'refused', 'chatType', 'chatHash', 'userHash', 'answerId', 'timings']);
  assert.equal(votesAsJsonLines([]), '');
  const summary = votesSummary(votes);
  assert.match(summary, /^Votes: 👍 1 · 👎 1 \(on 1 answers\)\n\nLatest 👎 \(1 of 1\):\n  2026-11-22 02:31  杭州建了多少个驿站？\n/);
  assert.match(votesSummary([]), /^No votes yet/);
});
