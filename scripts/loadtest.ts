// npm run loadtest: the real bot under load and faults, against the Bot API emulator
// (telegram-test-api, through test/helpers/telegram.ts), with extractive answers over a private
// copy of the seed pages. Latency is measured on the emulator's clock: from the moment a user's
// message reaches it to the moment the bot's reply does. Scenarios 1–5 run the bot in this
// process (startBot, as the e2e tests do); 6–7 run it as `npm start` runs it, in a child process
// group, because they are about signals and crashes. Prints Markdown tables for the README.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredBotUpdate } from 'telegram-test-api/lib/telegramServer.js';
import { startBot, type RunningBot } from '../src/bot/run.ts';
import { parseCommand, UsageError, type CommandSpec, type OptionSpec } from '../src/cli/args.ts';
import { createServices, localIndex, type Services } from '../src/cli/shared.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { OperatorError, runMain } from '../src/errors.ts';
import { loadQuestions, quantile } from '../src/eval/questions.ts';
import { LocalEmbeddings, locateModel } from '../src/index/embeddings.ts';
import { IndexService } from '../src/index/service.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { botEnv, startTelegram, type Fault, type TelegramHarness } from '../test/helpers/telegram.ts';

const SCENARIOS = {
  baseline: '10 users × 2 questions, no faults (the unloaded latency the fault scenarios compare with)',
  concurrency: '30 users × 3 questions, then 100 users × 2, all at once',
  'slow-chat': 'one chat whose Bot API calls take 10 s asks 2 questions and /help; 10 others ask',
  'slow-chats': 'as many slow chats as the bot answers at once (ANSWER_CONCURRENCY); 10 others ask',
  'retry-after': 'one chat gets 429 retry_after 10 s; same measurement; does it get its answers?',
  flood: 'one user sends 30 messages in 2 s while 5 others ask',
  shutdown: 'SIGTERM / SIGINT / npm start + SIGINT with 10 answers in flight (child process)',
  'crash-reindex': 'kill -9 while /reindex is embedding, then restart (child process)',
} as const;
type ScenarioName = keyof typeof SCENARIOS;

const COMMAND = {
  usage: 'Usage: npm run loadtest [-- --scenario NAME[,NAME]] [--json]',
  about:
    'Runs the real bot against a local Bot API emulator with extractive answers over a copy of the seed\n' +
    'pages, under load and faults, and prints the figures as Markdown tables (about 3 minutes in all).\n' +
    'Needs the embedding model (EMBEDDING_MODEL_PATH). Scenarios:\n' +
    Object.entries(SCENARIOS).map(([name, what]) => `  ${name.padEnd(16)}${what}`).join('\n'),
  options: {
    scenario: { type: 'string', value: 'NAME', example: 'flood', description: 'run only these scenarios (comma-separated; default: all)' },
    json: { type: 'boolean', description: 'print the figures as one JSON object instead of tables' },
  },
} satisfies CommandSpec<Record<string, OptionSpec>>;

const REPO = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Results

interface Group {
  scenario: string;
  group: string;
  sent: number;
  answered: number;
  p50?: number;
  p95?: number;
  max?: number;
  notes: string[];
}
interface ShutdownRow {
  how: string;
  delivered: number;
  inFlight: string;
  exit: string;
  secondsToExit?: number;
  notes: string[];
}
interface Results {
  environment: Record<string, string | number>;
  latency: Group[];
  shutdown: ShutdownRow[];
  crashReindex: [string, string][];
  errors: { scenario: string; message: string }[];
}

// ---------------------------------------------------------------------------------------------
// Clean-up: the emulator, bots, child process groups and temporary folders go on every exit.

const cleanups: (() => Promise<void> | void)[] = [];
const childGroups = new Set<number>();
const tempDirs: string[] = [];

async function cleanUp(): Promise<void> {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => {});
  killGroupsNow();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function killGroupsNow(): void {
  for (const pid of childGroups) signalGroup(pid, 'SIGKILL');
  childGroups.clear();
}

/** Ctrl-C: a clean stop; a second one, or a stop that hangs, ends everything at once. */
function handleInterrupts(): void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return hardExit();
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the bot, the emulator and child processes…\n`);
    setTimeout(hardExit, 5_000).unref();
    void cleanUp().finally(() => process.exit(130));
  };
  const hardExit = () => {
    killGroupsNow();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => killGroupsNow()); // last resort: never leave a bot running
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'newsbot-loadtest-'));
  tempDirs.push(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The lab: emulator, services over a copy of the seeds, the questions, and the bot's log.

interface Lab {
  h: TelegramHarness;
  services: Services;
  corpusDir: string;
  indexDir: string;
  questions: string[];
  /** Short factual questions: answered fastest (for the shutdown scenario). */
  quickQuestions: string[];
  log: string[];
  logger: Logger;
  claimed: Set<number>;
}

function modelEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.EMBEDDING_MODEL) env.EMBEDDING_MODEL = process.env.EMBEDDING_MODEL;
  if (process.env.EMBEDDING_MODEL_PATH) env.EMBEDDING_MODEL_PATH = path.resolve(process.env.EMBEDDING_MODEL_PATH);
  return env;
}

/** The figures mean nothing without the model (keyword-only answers): check it first. */
async function checkModel(config: Config): Promise<void> {
  const e = config.embeddings;
  if (e.provider !== 'local') return;
  const source = locateModel(e.model, e.modelPath);
  const how = `Set EMBEDDING_MODEL_PATH to a folder holding ${e.model}/, e.g. EMBEDDING_MODEL_PATH=/path/to/models npm run loadtest.`;
  if (source.kind === 'path' && !source.complete) throw new OperatorError(`The load test needs the embedding model, and EMBEDDING_MODEL_PATH=${source.dir} has no complete ${e.model}. ${how}`);
  if (source.kind === 'download') process.stderr.write(`EMBEDDING_MODEL_PATH is not set and ${e.model} is not cached: trying to download it into ${source.dir}…\n`);
  try {
    await new LocalEmbeddings({ model: e.model, modelPath: e.modelPath }).load();
  } catch (error) {
    throw new OperatorError(`The load test needs the embedding model: ${(error as Error).message}`);
  }
}

async function openLab(): Promise<Lab> {
  const root = tempDir();
  const corpusDir = path.join(root, 'corpus');
  const indexDir = path.join(root, 'index');
  cpSync(path.join(REPO, 'seeds'), corpusDir, { recursive: true });
  const h = await startTelegram();
  h.server.setMaxListeners(0); // one listener per user waiting for a reply: hundreds at once
  cleanups.push(() => h.stop());
  const config = loadConfig({ env: { ...modelEnv(), ...botEnv(h.apiRoot), CORPUS_DIR: corpusDir, INDEX_DIR: indexDir }, dotenvDir: false, cwd: REPO });
  await checkModel(config);
  const log: string[] = [];
  // The bot's own log, kept for the notes; shown live with LOG_LEVEL (as the other tools do).
  const echo = process.env.LOG_LEVEL ? createLogger(config.logLevel) : undefined;
  const logger = createLogger('info', (line) => log.push(line));
  const both: Logger = echo ? fanOut(logger, echo) : logger;
  const services = await createServices(config, both);
  progress('Building the index of the seed pages…');
  await services.index.loadOrBuild();
  const { questions, quickQuestions } = pickQuestions(config.maxQuestionChars);
  return { h, services, corpusDir, indexDir, questions, quickQuestions, log, logger: both, claimed: new Set() };
}

function fanOut(a: Logger, b: Logger): Logger {
  const each = (level: keyof Logger) => (m: string, f?: Record<string, unknown>) => (a[level](m, f), b[level](m, f));
  return { debug: each('debug'), info: each('info'), warn: each('warn'), error: each('error') };
}

/** Real questions about the seeds: the 'tune' split, without the conversations they continue. */
function pickQuestions(maxChars: number): { questions: string[]; quickQuestions: string[] } {
  const usable = loadQuestions().filter((q) => q.split === 'tune' && !q.history?.length && q.question.length <= maxChars);
  if (usable.length < 30) throw new OperatorError('test/fixtures/questions.json has fewer than 30 usable tune questions: the load test needs more.');
  const quick = usable.filter((q) => q.type === 'fact').map((q) => q.question);
  return { questions: usable.map((q) => q.question), quickQuestions: quick.length >= 10 ? quick : usable.map((q) => q.question) };
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Users and what they get back

interface User {
  chatId: number;
  client: ReturnType<TelegramHarness['client']>;
}
type ReplyKind = 'answer' | 'notice' | 'error' | 'other';
interface Outcome {
  text: string;
  chatId: number;
  sentAt: number;
  reply?: StoredBotUpdate;
  kind?: ReplyKind;
  latencyMs?: number;
}

const user = (lab: Lab, id: number): User => ({ chatId: id, client: lab.h.client({ userId: id }) });

/** Sends a message or command and returns the emulator's record of it (id and arrival time). */
async function send(lab: Lab, u: User, text: string): Promise<{ messageId: number; time: number }> {
  if (text.startsWith('/')) await u.client.sendCommand(u.client.makeCommand(text));
  else await u.client.sendMessage(u.client.makeMessage(text));
  const stored = [...lab.h.server.storage.userMessages].reverse().find((m) => {
    const message = 'message' in m ? (m.message as { text?: string; chat?: { id: number } }) : undefined;
    return message?.chat?.id === u.chatId && message.text === text && !lab.claimed.has(m.messageId);
  });
  if (!stored) throw new Error(`the emulator did not record a message from chat ${u.chatId}`);
  lab.claimed.add(stored.messageId);
  return { messageId: stored.messageId, time: stored.time };
}

const botMessages = (lab: Lab) => lab.h.server.storage.botMessages;
const chatOf = (m: StoredBotUpdate) => Number(m.message.chat_id);
const textOf = (m: StoredBotUpdate) => String(m.message.text ?? '');

/** The message the bot's message replies to (Bot API 7 reply_parameters, or the older field). */
function replyTo(m: StoredBotUpdate): number | undefined {
  const message = m.message as { reply_parameters?: { message_id?: number }; reply_to_message_id?: number };
  const id = message.reply_parameters?.message_id ?? message.reply_to_message_id;
  return id === undefined ? undefined : Number(id);
}

function classify(m: StoredBotUpdate): ReplyKind {
  const text = textOf(m);
  if (/太频繁|稍后再问|排队|请\s*\d+\s*秒后/.test(text)) return 'notice';
  if (/^抱歉|出了点问题|正在重启/.test(text)) return 'error';
  return m.message.parse_mode === 'HTML' ? 'answer' : 'other';
}

/** Waits for the first bot message that matches, among those sent already and those to come. */
function waitFor(lab: Lab, match: (m: StoredBotUpdate) => boolean, timeoutMs: number): Promise<StoredBotUpdate | undefined> {
  const found = botMessages(lab).find(match);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const server = lab.h.server;
    const onAdded = () => {
      const last = botMessages(lab).at(-1);
      if (last && match(last)) finish(last);
    };
    const finish = (m?: StoredBotUpdate) => {
      clearTimeout(timer);
      server.off('AddedBotMessage', onAdded);
      resolve(m);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    server.on('AddedBotMessage', onAdded);
  });
}

/** One message and the bot's reply to it (or nothing within `timeoutMs`). */
async function ask(lab: Lab, u: User, text: string, timeoutMs = 60_000): Promise<Outcome> {
  const { messageId, time } = await send(lab, u, text);
  const reply = await waitFor(lab, (m) => chatOf(m) === u.chatId && replyTo(m) === messageId, timeoutMs);
  return { text, chatId: u.chatId, sentAt: time, reply, kind: reply && classify(reply), latencyMs: reply && reply.time - time };
}

/** /help is not sent as a reply: its answer is the next help text in the chat. */
async function askHelp(lab: Lab, u: User, timeoutMs: number): Promise<Outcome> {
  const { time } = await send(lab, u, '/help');
  const reply = await waitFor(lab, (m) => chatOf(m) === u.chatId && m.time >= time && textOf(m).includes('新闻问答机器人'), timeoutMs);
  return { text: '/help', chatId: u.chatId, sentAt: time, reply, kind: reply && 'other', latencyMs: reply && reply.time - time };
}

/** A user who asks, waits for the reply, and asks again. */
async function converse(lab: Lab, u: User, questions: string[], startAfterMs = 0, timeoutMs?: number): Promise<Outcome[]> {
  await sleep(startAfterMs);
  const outcomes: Outcome[] = [];
  for (const q of questions) outcomes.push(await ask(lab, u, q, timeoutMs));
  return outcomes;
}

/** `count` questions for user `i`, spread over the list so that users ask different things. */
const questionsFor = (lab: Lab, i: number, count: number) => Array.from({ length: count }, (_, j) => lab.questions[(i * 7 + j * 31) % lab.questions.length]);

function figures(scenario: string, group: string, outcomes: Outcome[], notes: string[] = [], noReply = 'got no reply in time'): Group {
  const answers = outcomes.filter((o) => o.kind === 'answer');
  const latencies = answers.map((o) => o.latencyMs!);
  const other = outcomes.filter((o) => o.kind && o.kind !== 'answer');
  const lost = outcomes.length - answers.length - other.length;
  const extra = [...notes];
  // p50 and p95 of two or three values are just the largest: show each one.
  if (latencies.length > 1 && latencies.length <= 3) extra.unshift(`answers after ${latencies.map((l) => ms(l)).join(', ')}`);
  if (other.length) extra.push(`${other.length} replies were not answers (${summariseKinds(other)})`);
  if (lost) extra.push(`${lost} ${noReply}`);
  return {
    scenario,
    group,
    sent: outcomes.length,
    answered: answers.length,
    ...(latencies.length ? { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), max: Math.max(...latencies) } : {}),
    notes: extra,
  };
}

function summariseKinds(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.kind!, (counts.get(o.kind!) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// The in-process bot, fresh for each scenario (its own rate limiter and queues)

async function withBot<T>(lab: Lab, overrides: Partial<Config>, run: (bot: RunningBot) => Promise<T>): Promise<T> {
  const config = { ...lab.services.config, ...overrides };
  const bot = await startBot({ ...lab.services, config, logger: lab.logger });
  // Interrupted: answers in flight get half a second, not the 30 s drain.
  const abort = () => (bot.state.tasks.shortenDrain(500), bot.stop('load test interrupted').then(() => {}));
  cleanups.push(abort);
  try {
    return await run(bot);
  } finally {
    cleanups.splice(cleanups.indexOf(abort), 1);
    bot.state.tasks.shortenDrain(10_000);
    await bot.stop('scenario done');
  }
}

/** What the bot logged at warn/error level during a scenario, as one note. */
function logNote(lab: Lab, from: number): string[] {
  // setMyCommands: a Bot API server may lack it, and the bot says so at every start.
  const lines = lab.log.slice(from).filter((l) => / (WARN|ERROR) /.test(l) && !/setMyCommands/.test(l));
  if (!lines.length) return [];
  const kinds = new Map<string, number>();
  for (const l of lines) {
    const key = l.replace(/^\S+ /, '').replace(/\d+/g, 'N').slice(0, 90);
    kinds.set(key, (kinds.get(key) ?? 0) + 1);
  }
  return [`bot log: ${[...kinds].slice(0, 3).map(([k, n]) => `${n}× "${k.trim()}"`).join('; ')}`];
}

const ms = (n?: number) => (n === undefined ? '–' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

// ---------------------------------------------------------------------------------------------
// Scenarios 1–5: in-process bot

/** The unloaded reference for scenarios 3–5: the same 10 users × 2 questions as their "others",
 * with no fault anywhere. (One user asking 20 in a row would measure the outbox's pacing of one
 * chat, 3 messages per 3 s, not the bot's latency.) */
async function baseline(lab: Lab): Promise<Group[]> {
  return withBot(lab, {}, async () => {
    await ask(lab, user(lab, 10_000), lab.questions[1]); // warm-up, not counted: the first answer compiles code paths
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => converse(lab, user(lab, 10_001 + i), questionsFor(lab, 50 + i, 2), Math.random() * 2_000)));
    return [figures('1. baseline', '10 users × 2 questions, no faults', others.flat())];
  });
}

async function concurrency(lab: Lab): Promise<Group[]> {
  return withBot(lab, {}, async () => {
    const rows: Group[] = [];
    for (const [users, each, first] of [[30, 3, 20_000], [100, 2, 21_000]] as const) {
      const started = Date.now();
      const all = await Promise.all(Array.from({ length: users }, (_, i) => converse(lab, user(lab, first + i), questionsFor(lab, i, each), Math.random() * 200)));
      const seconds = (Date.now() - started) / 1000;
      rows.push(figures('2. concurrency', `${users} users × ${each} questions`, all.flat(), [`${(users * each / seconds).toFixed(1)} answers/s over ${seconds.toFixed(1)} s`]));
    }
    return rows;
  });
}

/** Scenarios 3 and 4: one faulty chat asks 2 questions and /help while 10 others ask 2 each. */
async function faultyChat(lab: Lab, label: string, chat: number, fault: Fault): Promise<Group[]> {
  const logFrom = lab.log.length;
  return withBot(lab, {}, async () => {
    const faulty = user(lab, chat);
    lab.h.fault(chat, fault);
    try {
      return await faultyRound(lab, label, faulty, fault, logFrom);
    } finally {
      lab.h.fault(chat, undefined);
    }
  });
}

/** The faulty chat asks, asks for /help, asks again; 10 others ask meanwhile. */
async function faultyRound(lab: Lab, label: string, faulty: User, fault: Fault, logFrom: number): Promise<Group[]> {
  const callsFrom = lab.h.calls().length;
  const faultyRun = (async () => {
    const first = ask(lab, faulty, lab.questions[3], 90_000);
    await sleep(200);
    const help = askHelp(lab, faulty, 60_000);
    await sleep(200);
    const second = ask(lab, faulty, lab.questions[40], 90_000);
    return { questions: await Promise.all([first, second]), help: await help };
  })();
  await sleep(500); // the faulty chat's messages first, so that the others meet its effect
  const others = await Promise.all(Array.from({ length: 10 }, (_, i) => converse(lab, user(lab, faulty.chatId + 1 + i), questionsFor(lab, 50 + i, 2), Math.random() * 2_000)));
  const { questions, help } = await faultyRun;
  const what = 'delayMs' in fault ? `calls delayed ${fault.delayMs / 1000} s` : `429 retry_after ${fault.retryAfter} s`;
  const notes = [help.reply ? `/help answered after ${ms(help.latencyMs)}` : '/help got no reply within 60 s', ...faultCallNotes(lab, faulty.chatId, callsFrom), ...logNote(lab, logFrom)];
  return [figures(label, '10 other users × 2 questions', others.flat()), figures(label, `the faulty chat (${what})`, questions, notes)];
}

/** Scenario 3b: an answer holds its place among those written at once until it is sent, so as
 * many slow chats as that number may hold up everyone. */
async function slowChats(lab: Lab): Promise<Group[]> {
  // Read defensively: the queue's settings are new and may still change.
  const n = (lab.services.config as { queue?: { concurrency?: number } }).queue?.concurrency ?? 8;
  const slow = Array.from({ length: n }, (_, i) => user(lab, 35_000 + i));
  return withBot(lab, {}, async () => {
    for (const u of slow) lab.h.fault(u.chatId, { delayMs: 10_000 });
    try {
      const slowAsked = Promise.all(slow.map((u, i) => ask(lab, u, lab.quickQuestions[i % lab.quickQuestions.length], 90_000)));
      await sleep(500);
      const others = await Promise.all(Array.from({ length: 10 }, (_, i) => converse(lab, user(lab, 36_000 + i), questionsFor(lab, 60 + i, 2), Math.random() * 2_000)));
      return [figures('3b. slow chats', '10 other users × 2 questions', others.flat()), figures('3b. slow chats', `${n} chats whose calls take 10 s (ANSWER_CONCURRENCY = ${n})`, await slowAsked)];
    } finally {
      for (const u of slow) lab.h.fault(u.chatId, undefined);
    }
  });
}

function faultCallNotes(lab: Lab, chat: number, from: number): string[] {
  const calls = lab.h.calls().slice(from).filter((c) => c.chatId === String(chat));
  const refused = calls.filter((c) => c.status === 429);
  return refused.length ? [`${refused.length} of its ${calls.length} Bot API calls got 429 (${[...new Set(refused.map((c) => c.method))].join(', ')})`] : [];
}

async function flood(lab: Lab): Promise<Group[]> {
  const logFrom = lab.log.length;
  return withBot(lab, {}, async () => {
    const flooder = user(lab, 50_000);
    const since = Date.now();
    const others = Promise.all(Array.from({ length: 5 }, (_, i) => converse(lab, user(lab, 50_001 + i), questionsFor(lab, 80 + i, 2), Math.random() * 1_000)));
    const floods: Promise<Outcome>[] = [];
    for (let i = 0; i < 30; i++) {
      // 20 s: the accepted ones are answered in seconds; the rest may, by design, get no reply.
      floods.push(ask(lab, flooder, lab.questions[(i * 11) % lab.questions.length], 20_000));
      await sleep(Math.max(0, since + (i + 1) * 66 - Date.now())); // 30 messages in 2 s
    }
    const flooded = await Promise.all(floods);
    const othersOutcomes = (await others).flat();
    await sleep(500); // let the last typing/answers land before counting deliveries
    const notices = flooded.filter((o) => o.kind === 'notice').length;
    const flooderNotes = [`${notices} rate-limit notice${notices === 1 ? '' : 's'}`, ...deliveryNotes(lab, [50_000, 50_001, 50_002, 50_003, 50_004, 50_005], since), ...logNote(lab, logFrom)];
    return [
      figures('5. flood', 'the flooder: 30 messages in 2 s', flooded, flooderNotes, 'got no reply at all (20 s)'),
      figures('5. flood', '5 other users × 2 questions', othersOutcomes),
    ];
  });
}

/** Whether every message the bot tried to send arrived: sendMessage calls vs stored messages. */
function deliveryNotes(lab: Lab, chats: number[], since: number): string[] {
  const ids = new Set(chats.map(String));
  const calls = lab.h.calls().filter((c) => c.method === 'sendMessage' && c.at >= since && ids.has(c.chatId ?? ''));
  const ok = calls.filter((c) => c.status === 200).length;
  const stored = botMessages(lab).filter((m) => m.time >= since && ids.has(String(m.message.chat_id))).length;
  const failed = calls.filter((c) => c.status !== 200).map((c) => c.status || 'pending');
  const verdict = ok === calls.length && stored === ok ? 'all delivered' : 'NOT all delivered';
  return [`sendMessage: ${calls.length} calls, ${ok} OK, ${stored} messages stored (${verdict}${failed.length ? `; failed: ${failed.join(', ')}` : ''})`];
}

// ---------------------------------------------------------------------------------------------
// Child processes: the bot as an operator runs it (scenarios 6 and 7)

interface BotChild {
  child: ChildProcess;
  pid: number;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function childEnv(lab: Lab, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the operator's own settings: no LLM, no webhook, no other corpus or token.
  for (const key of Object.keys(env)) if (/^(LLM_|EMBEDDINGS_|WEBHOOK_|TELEGRAM_|ADMIN_USER_IDS$|CORPUS_DIR$|INDEX_DIR$|PORT$)/.test(key)) delete env[key];
  return { ...env, ...modelEnv(), ...botEnv(lab.h.apiRoot), CORPUS_DIR: lab.corpusDir, INDEX_DIR: lab.indexDir, LOG_LEVEL: 'info', ...extra };
}

/** Starts the bot in its own process group (signalled as a whole, like Ctrl-C or systemd) and
 * waits until it polls. */
async function startBotChild(lab: Lab, how: 'node' | 'npm', env: NodeJS.ProcessEnv): Promise<BotChild> {
  const [command, args] = how === 'npm' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const child = spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  childGroups.add(child.pid!);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const deadline = Date.now() + 120_000;
  while (!/polling for updates/.test(log)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      signalGroup(child.pid!, 'SIGKILL');
      throw new Error(`the bot (${how === 'npm' ? 'npm start' : 'node src/main.ts'}) did not start polling:\n${tail(log)}`);
    }
    await sleep(100);
  }
  return { child, pid: child.pid!, log: () => log, exited };
}

const tail = (log: string) => log.trim().split('\n').slice(-8).map((l) => `    ${l}`).join('\n');

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until nothing of the group is left; kills what is left after `timeoutMs`. Returns when it went. */
async function groupGone(pid: number, timeoutMs: number): Promise<{ at: number; killed: boolean; lingering: string[] }> {
  const deadline = Date.now() + timeoutMs;
  let lingering: string[] = [];
  while (groupAlive(pid) && Date.now() < deadline) {
    lingering = groupMembers(pid);
    await sleep(50);
  }
  const killed = groupAlive(pid);
  if (killed) signalGroup(pid, 'SIGKILL');
  childGroups.delete(pid);
  return { at: Date.now(), killed, lingering };
}

/** The processes of a group (Linux /proc; empty elsewhere): what is left once its leader exits. */
function groupMembers(pgid: number): string[] {
  const members: string[] = [];
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid) members.push(`${pid} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}${fields[0] === 'Z' ? ' (zombie)' : ''}`);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return members;
}

// ---------------------------------------------------------------------------------------------
// Scenario 6: shutdown with answers in flight

const SHUTDOWNS = [
  { how: 'SIGTERM to node alone', start: 'node', signal: 'SIGTERM', group: false },
  { how: 'SIGINT to the process group (Ctrl-C)', start: 'node', signal: 'SIGINT', group: true },
  { how: 'npm start, SIGINT to its group', start: 'npm', signal: 'SIGINT', group: true },
] as const;

async function shutdown(lab: Lab): Promise<ShutdownRow[]> {
  const rows: ShutdownRow[] = [];
  for (const [n, mode] of SHUTDOWNS.entries()) {
    progress(`  ${mode.how}…`);
    rows.push(await shutdownOnce(lab, mode, 60_000 + n * 100).catch((error: Error) => ({ how: mode.how, delivered: 0, inFlight: '–', exit: 'error', notes: [error.message] })));
  }
  return rows;
}

async function shutdownOnce(lab: Lab, mode: (typeof SHUTDOWNS)[number], firstUser: number): Promise<ShutdownRow> {
  const bot = await startBotChild(lab, mode.start, childEnv(lab, {}));
  const users = Array.from({ length: 10 }, (_, i) => user(lab, firstUser + i));
  // The answers' sendMessage waits 1.5 s at the boundary: the signal lands while they are sent.
  for (const u of users) lab.h.fault(u.chatId, { delayMs: 1500, methods: ['sendMessage'] });
  try {
    const since = Date.now();
    const asked = users.map((u, i) => ask(lab, u, lab.quickQuestions[i % lab.quickQuestions.length], 60_000));
    const inFlight = await waitInFlight(lab, users, since);
    const signalledAt = Date.now();
    if (mode.group) signalGroup(bot.pid, mode.signal);
    else process.kill(bot.pid, mode.signal);
    const exit = await Promise.race([bot.exited, sleep(45_000).then(() => undefined)]);
    const gone = await groupGone(bot.pid, 20_000);
    const outcomes = await Promise.all(asked.map((p) => Promise.race([p, sleep(1_000).then(() => undefined)])));
    return shutdownRow(mode.how, outcomes, { inFlight, signalledAt, exit, gone, log: bot.log() });
  } finally {
    for (const u of users) lab.h.fault(u.chatId, undefined);
    signalGroup(bot.pid, 'SIGKILL');
    childGroups.delete(bot.pid);
  }
}

interface InFlight {
  sending: number;
  answering: number;
  delivered: number;
}

/** Waits until the bot has taken all 10 questions and at least one answer is held at the
 * boundary (30 s at most): then every answer is either being written or being sent. */
async function waitInFlight(lab: Lab, users: User[], since: number): Promise<InFlight> {
  const ids = new Set(users.map((u) => String(u.chatId)));
  const sending = () => lab.h.calls().filter((c) => c.method === 'sendMessage' && c.at >= since && c.status === 0 && ids.has(c.chatId ?? '')).length;
  const taken = () => lab.h.server.storage.userMessages.filter((m) => m.time >= since && ids.has(String((m as { message?: { chat?: { id: number } } }).message?.chat?.id)));
  const deadline = Date.now() + 30_000;
  while (!(taken().length >= users.length && taken().every((m) => m.isRead) && sending() > 0) && Date.now() < deadline) await sleep(10);
  const delivered = countReplies(lab, users, since);
  const now = sending();
  return { sending: now, answering: users.length - now - delivered, delivered };
}

const countReplies = (lab: Lab, users: User[], since: number) => users.filter((u) => botMessages(lab).some((m) => chatOf(m) === u.chatId && m.time >= since && classify(m) === 'answer')).length;

type Exit = { code: number | null; signal: NodeJS.Signals | null; at: number };

function shutdownRow(how: string, outcomes: (Outcome | undefined)[], r: { inFlight: InFlight; signalledAt: number; exit?: Exit; gone: { at: number; killed: boolean; lingering: string[] }; log: string }): ShutdownRow {
  const answered = outcomes.filter((o) => o?.kind === 'answer').length;
  const after = (at: number) => `${((at - r.signalledAt) / 1000).toFixed(1)} s`;
  const notes: string[] = [];
  const finishing = /Stopping \((\w+)\): finishing (\d+) answers in flight/.exec(r.log);
  notes.push(finishing ? `bot: "finishing ${finishing[2]} answers in flight"` : 'the bot did not log its "Stopping" line');
  if (/undelivered/.test(r.log)) notes.push('bot: "answers undelivered"');
  if (/\n\s+at .+:\d+:\d+/.test(r.log)) notes.push('a stack trace was printed');
  if (r.gone.killed) notes.push('still running 20 s after the exit: killed');
  // npm dies of the signal at once; the bot, in the same group, drains and exits on its own.
  if (r.exit && r.gone.at - r.exit.at > 300) {
    const left = r.gone.lingering.length ? ` (${r.gone.lingering.join(', ')})` : '';
    notes.push(`${how.startsWith('npm') ? 'npm' : 'node'} exited after ${after(r.exit.at)}, the last process of its group${left} after ${after(r.gone.at)}`);
  }
  const exit = r.exit ? (r.exit.signal ? `killed by ${r.exit.signal}` : String(r.exit.code)) : 'no exit in 45 s';
  const { sending, answering, delivered } = r.inFlight;
  return { how, delivered: answered, inFlight: `${sending} being sent, ${answering} being written${delivered ? `, ${delivered} already delivered` : ''}`, exit, secondsToExit: (r.gone.at - r.signalledAt) / 1000, notes };
}

// ---------------------------------------------------------------------------------------------
// Scenario 7: kill -9 while /reindex embeds, then restart

const ADMIN = 70_001;

async function crashReindex(lab: Lab): Promise<[string, string][]> {
  const own = await crashLab(lab);
  const env = childEnv(own, { ADMIN_USER_IDS: String(ADMIN) });
  const admin = user(lab, ADMIN);
  const rows: [string, string][] = [];
  let bot = await startBotChild(own, 'node', env);
  try {
    addCopies(own.corpusDir, 2); // new pages: the reindex has chunks to embed, for seconds
    const status = await reindexUntil(lab, admin, /生成向量/, 90_000);
    signalGroup(bot.pid, 'SIGKILL');
    const killedAt = Date.now();
    await groupGone(bot.pid, 10_000);
    rows.push(['progress seen before kill -9', status ? `"${textOf(status)}"` : 'never showed 生成向量 within 90 s (killed anyway)']);
    rows.push(...leftovers(own.indexDir));
    const restartedAt = Date.now();
    bot = await startBotChild(own, 'node', env);
    rows.push(['restart to polling', `${((Date.now() - restartedAt) / 1000).toFixed(1)} s${/rebuilding|Removed .*partial/.test(bot.log()) ? `; log: ${startupLines(bot.log())}` : ''}`]);
    await sleep(3_000);
    const told = botMessages(lab).filter((m) => chatOf(m) === ADMIN && m.time >= killedAt).map(textOf);
    rows.push(['admin told about the interrupted reindex', told.length ? told.map((t) => `"${t.slice(0, 80)}"`).join(' · ') : 'no message to the admin after the restart']);
    const second = await reindexUntil(lab, admin, /^索引已更新|^重建索引失败|请等这一次完成/, 120_000);
    rows.push(['second /reindex', second ? `"${textOf(second).slice(0, 120)}"` : 'did not finish within 120 s']);
    rows.push(...leftovers(own.indexDir).map(([k, v]): [string, string] => [`${k} (after the second reindex)`, v]));
  } finally {
    signalGroup(bot.pid, 'SIGTERM');
    await groupGone(bot.pid, 40_000);
  }
  return rows;
}

/** A corpus and index of its own (pages are added to it), built with the lab's model. */
async function crashLab(lab: Lab): Promise<Lab> {
  const root = tempDir();
  const corpusDir = path.join(root, 'corpus');
  const indexDir = path.join(root, 'index');
  cpSync(lab.corpusDir, corpusDir, { recursive: true });
  const config = { ...lab.services.config, corpusDir, indexDir };
  await new IndexService(config, lab.services.embedder).loadOrBuild();
  return { ...lab, corpusDir, indexDir };
}

/** Copies of every seed page under new names: new article ids, so every chunk is embedded anew. */
function addCopies(corpusDir: string, copies: number): void {
  const pages = readdirSync(corpusDir).filter((f) => /\.(txt|md)$/.test(f));
  for (let k = 1; k <= copies; k++) for (const page of pages) cpSync(path.join(corpusDir, page), path.join(corpusDir, `9${k}_copy_${page}`));
}

/** Sends /reindex and waits until its status message (edited as it goes) matches `until`. */
async function reindexUntil(lab: Lab, admin: User, until: RegExp, timeoutMs: number): Promise<StoredBotUpdate | undefined> {
  const { time } = await send(lab, admin, '/reindex');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = botMessages(lab).find((m) => chatOf(m) === ADMIN && m.time >= time && until.test(textOf(m)));
    if (status) return status;
    await sleep(50);
  }
  return undefined;
}

function leftovers(indexDir: string): [string, string][] {
  const builds = path.join(indexDir, 'builds');
  const partial = existsSync(builds) ? readdirSync(builds).filter((d) => d.endsWith('.partial')) : [];
  return [
    ['builds/*.partial left', partial.length ? partial.join(', ') : 'none'],
    ['reindex.lock left', existsSync(path.join(indexDir, 'reindex.lock')) ? 'yes' : 'no'],
  ];
}

const startupLines = (log: string) => log.split('\n').filter((l) => /rebuilding|Removed .*partial|lock/i.test(l)).map((l) => `"${l.replace(/^\S+ \w+\s+/, '').slice(0, 200)}"`).join(' ');

// ---------------------------------------------------------------------------------------------
// Output

function printMarkdown(r: Results): void {
  const out: string[] = [];
  const env = r.environment;
  out.push(
    `Load test: ${env.cores} cores (load average ${env.loadAtStart} at the start, ${env.loadAtEnd} at the end), Node ${env.node}, extractive answers, ` +
      `seeds (${env.pages} pages, ${env.chunks} chunks), Bot API emulator on 127.0.0.1, ${env.seconds} s in all. ` +
      "Latency: from a user's message reaching the emulator to the bot's reply reaching it.",
  );
  if (r.latency.length) {
    out.push('', '| Scenario | Who | Answered / sent | p50 | p95 | max | Notes |', '|---|---|---|---|---|---|---|');
    for (const g of r.latency) out.push(`| ${g.scenario} | ${g.group} | ${g.answered}/${g.sent} | ${ms(g.p50)} | ${ms(g.p95)} | ${ms(g.max)} | ${cell(g.notes)} |`);
  }
  if (r.shutdown.length) {
    out.push('', '6. Shutdown with 10 answers in flight (each answer\'s sendMessage held 1.5 s at the boundary):', '');
    out.push('| Stopped by | Delivered | At the signal | Exit code | Seconds until the group was gone | Notes |', '|---|---|---|---|---|---|');
    for (const s of r.shutdown) out.push(`| ${s.how} | ${s.delivered}/10 | ${s.inFlight} | ${s.exit} | ${s.secondsToExit?.toFixed(1) ?? '–'} | ${cell(s.notes)} |`);
  }
  if (r.crashReindex.length) {
    out.push('', '7. kill -9 of the bot\'s process group while /reindex embeds, then a restart:', '', '| Check | Result |', '|---|---|');
    for (const [k, v] of r.crashReindex) out.push(`| ${k} | ${cell([v])} |`);
  }
  for (const e of r.errors) out.push('', `Scenario ${e.scenario} failed: ${e.message}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Other work on the machine slows every figure: the 1-minute load average goes with them. */
const loadAverage = () => Number(os.loadavg()[0].toFixed(1));

const cell = (notes: string[]) => notes.join('; ').replace(/\|/g, '\\|').replace(/\n/g, ' ');

// ---------------------------------------------------------------------------------------------
// Main

function selectScenarios(option?: string): ScenarioName[] {
  if (!option) return Object.keys(SCENARIOS) as ScenarioName[];
  const names = option.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length || !names.length) throw new UsageError(`Unknown scenario ${unknown.join(', ') || '""'}: choose from ${Object.keys(SCENARIOS).join(', ')}.`, COMMAND.usage);
  return names as ScenarioName[];
}

async function runScenario(lab: Lab, name: ScenarioName, r: Results): Promise<void> {
  const base = () => r.latency.find((g) => g.scenario === '1. baseline');
  if ((name === 'slow-chat' || name === 'slow-chats' || name === 'retry-after') && !base()) await runScenario(lab, 'baseline', r);
  progress(`Scenario ${name}: ${SCENARIOS[name]}…`);
  const before = r.latency.length;
  try {
    if (name === 'baseline') r.latency.push(...(await baseline(lab)));
    if (name === 'concurrency') r.latency.push(...(await concurrency(lab)));
    if (name === 'slow-chat') r.latency.push(...(await faultyChat(lab, '3. slow chat', 30_000, { delayMs: 10_000 })));
    if (name === 'slow-chats') r.latency.push(...(await slowChats(lab)));
    if (name === 'retry-after') r.latency.push(...(await faultyChat(lab, '4. 429 chat', 40_000, { retryAfter: 10, times: 1 })));
    if (name === 'flood') r.latency.push(...(await flood(lab)));
    if (name === 'shutdown') r.shutdown.push(...(await shutdown(lab)));
    if (name === 'crash-reindex') r.crashReindex.push(...(await crashReindex(lab)));
    const b = base();
    for (const g of r.latency.slice(before)) if (b?.p50 && g.p50 && g !== b) g.notes.unshift(`p50 ${(g.p50 / b.p50).toFixed(1)}× baseline`);
  } catch (error) {
    // The bot is being changed under us: one scenario failing must not lose the others' figures.
    const message = (error as Error).message ?? String(error);
    progress(`Scenario ${name} failed: ${message}`);
    r.errors.push({ scenario: name, message });
  }
}

await runMain(async () => {
  const args = parseCommand(COMMAND);
  if (!args) return;
  const selected = selectScenarios(args.values.scenario);
  handleInterrupts();
  try {
    const started = Date.now();
    const lab = await openLab();
    const { counts } = localIndex(lab.services, 'npm run loadtest').current().manifest;
    const environment = { cores: os.cpus().length, node: process.version, pages: counts.pages, chunks: counts.chunks, questions: lab.questions.length, loadAtStart: loadAverage() };
    if (environment.loadAtStart > environment.cores) progress(`Note: the machine is busy (load average ${environment.loadAtStart} on ${environment.cores} cores): the figures will be slower than on an idle machine.`);
    const r: Results = { environment, latency: [], shutdown: [], crashReindex: [], errors: [] };
    for (const name of selected) await runScenario(lab, name, r);
    Object.assign(r.environment, { seconds: Math.round((Date.now() - started) / 1000), loadAtEnd: loadAverage() });
    if (args.values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else printMarkdown(r);
    if (r.errors.length) process.exitCode = 1;
  } finally {
    await cleanUp();
  }
});
// Model threads and keep-alive sockets may hold the loop open: everything is cleaned up by now.
process.exit();
