// needs: model, postgres
// Two bot processes in webhook mode behind one token, sharing one PostgreSQL (DATABASE_URL), act
// as one bot. The test plays Telegram and the load balancer: it posts each update to the replica
// it chooses; the replicas answer through the emulator. Nothing is written to INDEX_DIR.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { PostgresStateStore } from '../../src/state/postgres.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { freshDatabaseUrl } from '../helpers/postgres.ts';
import { botEnv, startTelegram, type SentMessage } from '../helpers/telegram.ts';
import { freePort } from '../helpers/port.ts';

const SECRET = 'replica_secret_1';
const ADMIN = 7001;
const corpus = seedCorpus();
const telegram = await startTelegram();
const databaseUrl = await freshDatabaseUrl();

interface Replica {
  name: string;
  post(update: Record<string, unknown>): Promise<number>;
  log(): string;
  stop(): Promise<void>;
}


async function startReplica(name: string): Promise<Replica> {
  const port = await freePort();
  const hook = `http://127.0.0.1:${port}/hook`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      ...botEnv(telegram.apiRoot),
      ...corpus.env,
      DATABASE_URL: databaseUrl,
      WEBHOOK_URL: hook,
      WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      ADMIN_USER_IDS: String(ADMIN),
      RATE_LIMIT_PER_MINUTE: '3',
      LOG_LEVEL: 'info',
      LLM_BASE_URL: '',
      LLM_API_KEY: '',
      LLM_MODEL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const deadline = Date.now() + 150_000;
  while (!/receiving updates by webhook/.test(log)) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `replica ${name} did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    log: () => log,
    post: async (update) => {
      const response = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET }, body: JSON.stringify(update) });
      return response.status;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

let a: Replica;
let b: Replica;
before(async () => {
  // Started together: both bring the index up to date at start, one after the other.
  [a, b] = await Promise.all([startReplica('A'), startReplica('B')]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await telegram.stop();
});

let nextId = 1;
const from = (userId: number) => ({ id: userId, is_bot: false, first_name: `用户${userId}` });
const chat = (id: number) => ({ id, type: 'private', first_name: `用户${id}` });

function message(userId: number, fields: Record<string, unknown>): Record<string, unknown> {
  const id = nextId++;
  return { update_id: 500_000 + id, message: { message_id: 100_000 + id, date: Math.floor(Date.now() / 1000), chat: chat(userId), from: from(userId), ...fields } };
}

const text = (userId: number, body: string) =>
  message(userId, { text: body, ...(body.startsWith('/') ? { entities: [{ type: 'bot_command', offset: 0, length: body.split(' ')[0].length }] } : {}) });

async function send(replica: Replica, update: Record<string, unknown>): Promise<void> {
  assert.equal(await replica.post(update), 200, `replica ${replica.name} refused the update:\n${replica.log()}`);
}

/** The text of a message as it is now (the emulator keeps edits in place). */
async function textBecomes(sent: SentMessage, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = telegram.allBotMessages().find((m) => m.messageId === sent.messageId)!.message.text;
    if (pattern.test(now)) return now;
    if (Date.now() > deadline) assert.fail(`message ${sent.messageId} is still "${now}", expected ${pattern}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('both replicas started on one database: the seeds were ingested once, and INDEX_DIR was never written', async () => {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    const { rows } = await pool.query<{ pages: string }>('SELECT count(*) AS pages FROM pages');
    assert.equal(Number(rows[0].pages), 5);
  } finally {
    await pool.end();
  }
  assert.equal(existsSync(corpus.indexDir), false, `INDEX_DIR=${corpus.indexDir} was created`);
  const ingested = [a, b].filter((r) => /Index in DATABASE_URL updated: 5 pages added/.test(r.log()));
  assert.equal(ingested.length, 1, 'one replica wrote the pages, the other found them written');
});

test('a follow-up that lands on the other replica continues the conversation', async () => {
  const user = 7101;
  await send(a, text(user, '青岛惠工商城试运行3个月成交额是多少？'));
  const [first] = await telegram.botMessages(user, 1, 60_000);
  assert.match(first.message.text, /1500万元/);
  // Asked alone, 覆盖了多少职工？ is answered from the 上海 rest-room article; as a follow-up, from 惠工商城.
  await send(b, text(user, '覆盖了多少职工？'));
  const [followUp] = await telegram.botMessages(user, 1, 60_000);
  assert.match(followUp.message.text, /1\.5万人/);
  assert.match(followUp.message.text, /惠工商城/);

  // The 查看原文 button of A's answer, pressed on B: B finds the answer A sent.
  const press = { update_id: 500_000 + nextId++, callback_query: { id: `cb${nextId}`, from: from(user), chat_instance: '1', data: 'sources', message: { message_id: first.messageId, date: Math.floor(Date.now() / 1000), chat: chat(user), text: first.message.text } } };
  await send(b, press);
  const [sources] = await telegram.botMessages(user, 1, 30_000);
  assert.match(sources.message.text, /惠工商城/);
  assert.doesNotMatch(sources.message.text, /已过期/);
});

test('rate limits count across both replicas', async () => {
  const user = 7201;
  const questions = ['浏阳大瑶镇有多少家花炮上下游企业？', '青岛惠工商城试运行3个月成交额是多少？', '上海今年建成了多少间职工工间休息室？'];
  // Three per minute in all: A, B, A pass; the fourth, on B, is refused although B saw only one.
  for (const [i, question] of questions.entries()) {
    await send(i % 2 ? b : a, text(user, question));
    const [answer] = await telegram.botMessages(user, 1, 60_000);
    assert.doesNotMatch(answer.message.text, /太频繁/);
  }
  await send(b, text(user, '邓州爱心早餐几点开门？'));
  const [refused] = await telegram.botMessages(user, 1, 30_000);
  assert.match(refused.message.text, /提问太频繁了，请 \d+ 秒后再试/);
});

test('a page an admin uploads through one replica is answered from by both, without a restart', async () => {
  const page = '本报讯（记者周测）滨海县总工会日前为全县环卫工人送去御寒大衣860件，覆盖环卫工人全部岗位。\n\n滨海县总工会为环卫工人送御寒大衣\n';
  telegram.addFile('F-replica', Buffer.from(page));
  await send(a, message(ADMIN, { document: { file_id: 'F-replica', file_unique_id: 'F-replica', file_name: '901_滨海.txt', mime_type: 'text/plain', file_size: Buffer.byteLength(page) } }));
  const [saved] = await telegram.botMessages(ADMIN, 1, 60_000);
  assert.match(saved.message.text, /已保存版面 901_滨海\.txt.*已收录/s);
  for (const [replica, user] of [[b, 7301], [a, 7302]] as const) {
    await send(replica, text(user, '滨海县总工会给环卫工人送了多少件大衣？'));
    const [answer] = await telegram.botMessages(user, 1, 60_000);
    assert.match(answer.message.text, /860件/, `replica ${replica.name}`);
  }
});

test('only one reindex runs at a time across replicas', async () => {
  // A third process holds the reindex lock, as a replica in the middle of a reindex would.
  const pool = new pg.Pool({ connectionString: databaseUrl });
  const holder = await PostgresStateStore.open({ pool });
  const release = await holder.tryLock('reindex');
  try {
    assert.ok(release, 'the lock was free');
    for (const replica of [a, b]) {
      await send(replica, text(ADMIN, '/reindex'));
      const [status] = await telegram.botMessages(ADMIN, 1, 30_000);
      await textBecomes(status, /另一个进程正在重建索引/);
    }
    await release!();
    await send(b, text(ADMIN, '/reindex'));
    const [status] = await telegram.botMessages(ADMIN, 1, 30_000);
    const done = await textBecomes(status, /索引已更新/);
    assert.match(done, /6 个版面/);
  } finally {
    await holder.close();
    await pool.end();
  }
});

test('/stats counts the answers of both replicas', async () => {
  await send(a, text(ADMIN, '/stats'));
  const [stats] = await telegram.botMessages(ADMIN, 1, 30_000);
  assert.match(stats.message.text, /索引（PostgreSQL）：6 个版面/);
  const answered = Number(/已回答问题：(\d+)/.exec(stats.message.text)?.[1]);
  assert.ok(answered >= 7, `${answered} answers counted; both replicas answered at least 7 questions`);
});
