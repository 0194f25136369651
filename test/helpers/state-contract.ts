// What any state store (src/state/port.ts) must do, as node:test tests an adapter's test file
// registers. `make` builds the store(s) on a fake clock with the default conversation options (5
// turns, 30 minutes); `second`, when given, is another instance on the same data, standing in for
// another replica: what one writes the other must see.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Answer } from '../../src/answer/types.ts';
import type { FeedbackVote, StateStore, Vote } from '../../src/state/port.ts';

export interface ContractStores {
  store: StateStore;
  second?: StateStore;
  close(): Promise<void>;
}

const START = 1_700_000_000_000;

export function answerOf(text: string, articleId = 'a.txt#1', rewrittenQuestion?: string): Answer {
  return {
    text,
    citations: [{ n: 1, articleId, headline: '标题', file: 'a.txt', quote: '引文' }],
    refused: false,
    coverage: 'full',
    notReported: [],
    mode: 'extractive',
    ...(rewrittenQuestion ? { rewrittenQuestion } : {}),
    timings: { totalMs: 12, retrieveMs: 5, generateMs: 0.5 },
  };
}

/** A vote by `user` on the answer in message `message`, pressed at `time` (hashes stand in). */
export function voteBy(user: string, message: number, vote: Vote, time: number, question = `问题${message}`): FeedbackVote {
  return {
    time,
    vote,
    answerId: `chat0:${message}`,
    userHash: user,
    chatHash: 'chat0',
    chatType: 'private',
    question,
    answer: `回答${message}[1]`,
    citations: [{ articleId: 'a.txt#1', headline: '标题' }],
    mode: 'extractive',
    refused: false,
    timings: { totalMs: 12, retrieveMs: 5, generateMs: 0.5 },
  };
}

/** `replicas`: `make` also gives a second instance on the same data, and the cross-replica tests
 * run (they are not registered for a one-process adapter, rather than skipped). */
export function stateStoreContract(name: string, make: (now: () => number) => Promise<ContractStores>, options: { replicas?: boolean } = {}): void {
  /** Runs `body` on fresh stores and a clock it may move; closes them whatever happens. */
  const withStores = (title: string, body: (s: ContractStores, clock: { t: number }, t: TestContext) => Promise<void>) =>
    test(`${name}: ${title}`, async (t) => {
      const clock = { t: START };
      const stores = await make(() => clock.t);
      try {
        await body(stores, clock, t);
      } finally {
        await stores.close();
      }
    });
  /** As withStores, for what only two instances can show. */
  const withReplicas = (title: string, body: (a: StateStore, b: StateStore, clock: { t: number }) => Promise<void>) =>
    options.replicas &&
    withStores(`across replicas: ${title}`, async ({ store, second }, clock) => {
      assert.ok(second, 'make() must give a second instance when replicas is set');
      await body(store, second, clock);
    });

  withStores('a conversation is recorded, read back and reset', async ({ store }) => {
    const c = store.conversations;
    assert.deepEqual(await c.history('1:0'), []);
    const first = await c.record('1:0', '邓州的早餐？', answerOf('胡辣汤[1]', 'a.txt#1'), 1, []);
    assert.deepEqual(first, [{ question: '邓州的早餐？', answer: '胡辣汤[1]', articleIds: ['a.txt#1'] }]);
    const second = await c.record('1:0', '几点开门？', answerOf('凌晨四点[1]', 'a.txt#1', '邓州早餐店几点开门？'), 1, []);
    assert.equal(second.length, 2);
    assert.equal(second[1].question, '邓州早餐店几点开门？', 'the rewritten question is what is kept');
    assert.deepEqual(await c.history('1:0'), second);
    assert.deepEqual(await c.history('1:7'), [], 'another thread is another conversation');
    await c.reset('1:0');
    assert.deepEqual(await c.history('1:0'), []);
  });

  withStores('a conversation keeps its last five turns', async ({ store }) => {
    for (let i = 1; i <= 7; i++) await store.conversations.record('2:0', `问题${i}`, answerOf(`回答${i}`), 2, []);
    const turns = await store.conversations.history('2:0');
    assert.deepEqual(turns.map((turn) => turn.question), ['问题3', '问题4', '问题5', '问题6', '问题7']);
  });

  withStores('a conversation idle for more than 30 minutes is forgotten', async ({ store }, clock) => {
    await store.conversations.record('3:0', '问题', answerOf('回答'), 3, []);
    clock.t += 29 * 60_000;
    assert.equal((await store.conversations.history('3:0')).length, 1);
    await store.conversations.record('3:0', '追问', answerOf('回答'), 3, []);
    clock.t += 29 * 60_000;
    assert.equal((await store.conversations.history('3:0')).length, 2, 'each turn restarts the clock');
    clock.t += 2 * 60_000;
    assert.deepEqual(await store.conversations.history('3:0'), []);
    const turns = await store.conversations.record('3:0', '新问题', answerOf('回答'), 3, []);
    assert.deepEqual(turns.map((turn) => turn.question), ['新问题'], 'an expired conversation is not continued');
  });

  withStores('an answer is found by its messages; a reply continues from it', async ({ store }) => {
    const c = store.conversations;
    const old = answerOf('旧回答[1]');
    const turns = await c.record('4:0', '旧问题', old, 4, [10, 11]);
    assert.deepEqual(await c.answerAt(4, 11), old);
    assert.deepEqual(await c.historyAt(4, 10), turns);
    assert.equal(await c.answerAt(4, 12), undefined);
    assert.equal(await c.historyAt(5, 10), undefined, 'message ids are per chat');
    await c.record('4:0', '后来的问题', answerOf('后来的回答'), 4, []);
    const later = answerOf('送达后才知道消息号');
    const laterTurns = await c.record('4:0', '又一个问题', later, 4, []);
    await c.remember(4, [20], later, laterTurns);
    assert.deepEqual(await c.answerAt(4, 20), later);
    assert.deepEqual(await c.historyAt(4, 20), laterTurns);
    // Replying to the old answer branches from it, not from the latest turn.
    const branch = await c.record('4:0', '接着旧的问', answerOf('分支回答'), 4, [30], (await c.historyAt(4, 10))!);
    assert.deepEqual(branch.map((turn) => turn.question), ['旧问题', '接着旧的问']);
    assert.deepEqual(await c.history('4:0'), branch);
  });

  withStores('the rate limiter allows a burst, then asks to wait, and refills over time', async ({ store }, clock) => {
    const limiter = store.limiter('questions', 3);
    assert.deepEqual([await limiter.check(1, 1), await limiter.check(1, 1), await limiter.check(1, 1)], [0, 0, 0]);
    const wait = await limiter.check(1, 1);
    assert.ok(wait > 0 && wait <= 20_000, `${wait} ms`);
    assert.equal(await limiter.check(2, 1), 0, 'another user in the same chat may still ask');
    assert.equal(await store.limiter('actions', 3).check(1, 1), 0, 'another limiter has its own buckets');
    clock.t += 20_000;
    assert.equal(await limiter.check(1, 1), 0);
    assert.ok((await limiter.check(1, 1)) > 0);
  });

  withStores("a refused flooder takes nothing from the group's allowance; a full group refunds the user", async ({ store }) => {
    const limiter = store.limiter('questions', 3);
    for (let i = 0; i < 50; i++) await limiter.check(1, -5);
    assert.deepEqual([await limiter.check(2, -5), await limiter.check(3, -5)], [0, 0], 'others in the group may still ask');
    // The group's 9 tokens: 3 by user 1, 2 above, 4 more by users 4 and 5 → the last is refused.
    for (const user of [4, 4, 4, 5]) assert.equal(await limiter.check(user, -5), 0);
    assert.ok((await limiter.check(5, -5)) > 0, 'the group is out of tokens');
    assert.equal(await limiter.check(5, -6), 0);
    assert.equal(await limiter.check(5, -6), 0, 'the refused ask in the full group cost user 5 nothing');
    assert.ok((await limiter.check(5, -6)) > 0);
  });

  withStores('a notice of a kind goes to a user once per window', async ({ store }, clock) => {
    const notices = store.notices(60_000);
    assert.equal(await notices.allow(1, 'rate'), true);
    assert.equal(await notices.allow(1, 'rate'), false);
    assert.equal(await notices.allow(2, 'rate'), true, 'another user');
    assert.equal(await notices.allow(1, 'busy'), true, 'another kind');
    clock.t += 59_999;
    assert.equal(await notices.allow(1, 'rate'), false);
    clock.t += 1;
    assert.equal(await notices.allow(1, 'rate'), true);
  });

  withStores('counters add up', async ({ store }) => {
    assert.equal(await store.counter('answered'), 0);
    assert.equal(await store.increment('answered'), 1);
    assert.equal(await store.increment('answered', 4), 5);
    assert.equal(await store.increment('refused'), 1);
    assert.equal(await store.counter('answered'), 5);
  });

  withStores('an upload is taken once, and only by the user who sent it', async ({ store }) => {
    const bytes = Buffer.from('<html>页面</html>', 'utf8');
    const id = await store.putUpload({ name: 'a.html', bytes, userId: 7 });
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.equal(await store.takeUpload(id, 8), undefined, 'another user gets nothing');
    const taken = await store.takeUpload(id, 7);
    assert.deepEqual(taken, { name: 'a.html', bytes, userId: 7 }, 'and the upload stayed for its sender');
    assert.equal(await store.takeUpload(id, 7), undefined, 'a second take gets nothing');
    assert.equal(await store.takeUpload('000000000000', 7), undefined);
  });

  withStores('at most 50 uploads wait; the oldest go first', async ({ store }) => {
    const ids: string[] = [];
    for (let i = 0; i < 52; i++) ids.push(await store.putUpload({ name: `${i}.html`, bytes: Buffer.from([i]), userId: 1 }));
    assert.equal(await store.takeUpload(ids[0], 1), undefined);
    assert.equal(await store.takeUpload(ids[1], 1), undefined);
    assert.equal((await store.takeUpload(ids[2], 1))?.name, '2.html');
    assert.equal((await store.takeUpload(ids[51], 1))?.name, '51.html');
  });

  withStores('a named lock is held by one at a time until released', async ({ store }) => {
    const release = await store.tryLock('reindex');
    assert.ok(release);
    assert.equal(await store.tryLock('reindex'), undefined);
    const other = await store.tryLock('another');
    assert.ok(other, 'another name is another lock');
    await release();
    await release(); // twice is harmless
    const again = await store.tryLock('reindex');
    assert.ok(again);
    assert.equal(await store.tryLock('reindex'), undefined, 'the first release did not free the new holder');
    await again();
    await other();
  });

  withStores('votes: one per user per answer, a new press replaces it; counted and listed', async ({ store }) => {
    const feedback = store.feedback;
    assert.deepEqual(await feedback.counts(), { up: 0, down: 0 });
    assert.deepEqual(await feedback.all(), []);
    assert.equal(await feedback.vote(voteBy('u1', 10, 'up', START)), undefined, 'a first vote has none before it');
    assert.equal(await feedback.vote(voteBy('u1', 10, 'up', START + 1_000)), 'up', 'the same press again keeps it');
    assert.equal(await feedback.vote(voteBy('u1', 10, 'down', START + 2_000)), 'up', 'a new press changes it');
    assert.equal(await feedback.vote(voteBy('u2', 10, 'up', START + 3_000)), undefined, 'another user votes on their own');
    assert.equal(await feedback.vote(voteBy('u1', 11, 'down', START + 4_000, '另一个问题')), undefined, 'another answer');
    assert.deepEqual(await feedback.counts(), { up: 1, down: 2 });
    const all = await feedback.all();
    assert.deepEqual(all, [voteBy('u1', 10, 'down', START + 2_000), voteBy('u2', 10, 'up', START + 3_000), voteBy('u1', 11, 'down', START + 4_000, '另一个问题')], 'oldest first, as stored');
    assert.deepEqual((await feedback.recent('down', 5)).map((v) => v.question), ['另一个问题', '问题10'], 'newest first');
    assert.deepEqual((await feedback.recent('down', 1)).map((v) => v.question), ['另一个问题']);
    assert.deepEqual(await feedback.recent('up', 5), [voteBy('u2', 10, 'up', START + 3_000)]);
    const { timings: _, ...untimed } = voteBy('u3', 12, 'up', START + 5_000);
    await feedback.vote(untimed);
    assert.deepEqual((await feedback.all()).at(-1), untimed, 'timings are optional');
  });

  withReplicas('a vote is seen, and replaced, on the other replica', async (a, b) => {
    await a.feedback.vote(voteBy('u1', 20, 'up', START));
    assert.deepEqual(await b.feedback.counts(), { up: 1, down: 0 });
    assert.equal(await b.feedback.vote(voteBy('u1', 20, 'down', START + 1_000)), 'up');
    assert.deepEqual(await a.feedback.counts(), { up: 0, down: 1 });
    assert.deepEqual(await a.feedback.all(), [voteBy('u1', 20, 'down', START + 1_000)]);
  });

  withReplicas('a conversation continues on the other replica', async (a, b) => {
    const turns = await a.conversations.record('9:0', '问题', answerOf('回答'), 9, [90]);
    assert.deepEqual(await b.conversations.history('9:0'), turns);
    assert.deepEqual(await b.conversations.answerAt(9, 90), answerOf('回答'));
    const next = await b.conversations.record('9:0', '追问', answerOf('回答二'), 9, []);
    assert.equal(next.length, 2);
    assert.deepEqual(await a.conversations.history('9:0'), next);
    await a.conversations.reset('9:0');
    assert.deepEqual(await b.conversations.history('9:0'), []);
  });

  withReplicas('turns recorded at once on both replicas all land', async (a, b) => {
    await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? a : b).conversations.record('8:0', `问题${i}`, answerOf(`回答${i}`), 8, [])));
    const questions = (await a.conversations.history('8:0')).map((turn) => turn.question);
    assert.deepEqual([...questions].sort(), ['问题1', '问题2', '问题3', '问题4']);
  });

  withReplicas('limits, notices and counters are shared', async (a, b) => {
    assert.deepEqual([await a.limiter('questions', 3).check(1, 1), await b.limiter('questions', 3).check(1, 1), await a.limiter('questions', 3).check(1, 1)], [0, 0, 0]);
    assert.ok((await b.limiter('questions', 3).check(1, 1)) > 0);
    assert.equal(await a.notices().allow(1, 'rate'), true);
    assert.equal(await b.notices().allow(1, 'rate'), false);
    await a.increment('answered', 2);
    assert.equal(await b.increment('answered'), 3);
  });

  withReplicas('a lock is exclusive across replicas; an upload is taken by one', async (a, b) => {
    const release = await a.tryLock('reindex');
    assert.ok(release);
    assert.equal(await b.tryLock('reindex'), undefined);
    await release();
    const other = await b.tryLock('reindex');
    assert.ok(other);
    assert.equal(await a.tryLock('reindex'), undefined);
    await other();
    const id = await a.putUpload({ name: 'x.html', bytes: Buffer.from('x'), userId: 3 });
    const taken = await Promise.all([a.takeUpload(id, 3), b.takeUpload(id, 3), b.takeUpload(id, 3)]);
    assert.equal(taken.filter(Boolean).length, 1);
  });
}
