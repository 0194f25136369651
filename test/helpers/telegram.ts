// The Bot API emulator (telegram-test-api) on 127.0.0.1, with what it lacks for our tests:
// getFile and file downloads, served from files the test registers; setMessageReaction,
// setMyCommands, sendChatAction and sendMessageDraft, recorded for the tests; a log of every Bot API call;
// faults per chat (slow answers, 429 flood control) injected at the network boundary; and raw
// updates (edited messages) the emulator cannot produce.
import type { AddressInfo } from 'node:net';
import { TelegramServer } from 'telegram-test-api/lib/telegramServer.js';

export const BOT_TOKEN = '123456:TEST-token_abcdefghijklmnop';
export const BOT_USERNAME = 'TestNameBot'; // what the emulator's getMe answers
export const BOT_ID = 666;

/** The settings that point a bot at the emulator. */
export function botEnv(apiRoot: string): { TELEGRAM_BOT_TOKEN: string; TELEGRAM_API_ROOT: string } {
  return { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: apiRoot };
}

export interface SentMessage {
  messageId: number;
  message: {
    chat_id: number | string;
    text: string;
    parse_mode?: string;
    /** The forum topic it was sent to: the emulator keeps the bot's request body as sent. */
    message_thread_id?: number;
    reply_parameters?: { message_id: number };
    reply_markup?: { inline_keyboard: { text: string; callback_data: string }[][] };
  };
}

type Client = ReturnType<TelegramServer['getClient']>;

/** What the bot asked of the Bot API: method, chat, when (ms since epoch) and the status sent back. */
export interface ApiCall {
  method: string;
  chatId?: string;
  at: number;
  status: number;
  body: Record<string, unknown>;
}

export interface Reaction {
  chatId: string;
  messageId: number;
  /** Empty: the reaction was removed. */
  reaction: { type: string; emoji?: string }[];
  at: number;
}

export interface CommandMenu {
  scope: { type: string; chat_id?: number | string };
  commands: { command: string; description: string }[];
  at: number;
}

/** A sendMessageDraft: a private chat's preview of an answer being written (Bot API 9.5). */
export interface Draft {
  chatId: string;
  draftId: number;
  text: string;
  threadId?: number;
  at: number;
}

/** What the bot answered an inline query with. */
export interface InlineAnswer {
  inlineQueryId: string;
  results: { type: string; id: string; title: string; description?: string; input_message_content: { message_text: string; parse_mode?: string } }[];
  cacheTime?: number;
  isPersonal?: boolean;
  button?: { text: string; start_parameter?: string };
  at: number;
}

/** A fault for one chat's calls: answer after `delayMs`, or refuse with 429 and `retryAfter`
 * seconds (as Telegram's flood control does) until that window has passed, `times` windows in all. */
export type Fault = { delayMs: number; methods?: string[] } | { retryAfter: number; times?: number; methods?: string[] };

export interface TelegramHarness {
  apiRoot: string;
  server: TelegramServer;
  client(options: { userId: number; chatId?: number; type?: 'private' | 'group' | 'supergroup'; firstName?: string }): Client;
  /** Waits for `count` new bot messages in a chat (newer than the last ones seen there). */
  botMessages(chatId: number, count?: number, timeoutMs?: number): Promise<SentMessage[]>;
  /** Every message the bot has sent so far, in all chats. */
  allBotMessages(): SentMessage[];
  /** The emulator's id of the last user message with this text. */
  userMessageId(text: string): number;
  /** Waits until the bot has fetched every user message. */
  delivered(): Promise<void>;
  addFile(fileId: string, content: Buffer): void;
  /** Every setMessageReaction the emulator accepted, in order. */
  reactions(): Reaction[];
  /** Every setMyCommands, in order. */
  commandMenus(): CommandMenu[];
  /** From now on the chat answers setMessageReaction with 400 REACTION_INVALID, as a group
   * that allows no reactions (or not this one) does. */
  refuseReactions(chatId: number): void;
  /** Every sendMessageDraft the emulator accepted, in order. */
  drafts(): Draft[];
  /** From now on sendMessageDraft is unknown (404 Not Found), as on a Bot API server older than 9.5. */
  withoutDrafts(): void;
  /** Every Bot API call so far (getUpdates excluded). */
  calls(): ApiCall[];
  /** Sets or clears (undefined) a fault on a chat's calls. */
  fault(chatId: number, fault: Fault | undefined): void;
  /** Queues a raw update (e.g. `edited_message`) for the bot's next getUpdates. */
  injectUpdate(update: Record<string, unknown>): number;
  /** Queues an `inline_query` from a user (`@bot query` typed in any chat); returns its id. */
  inlineQuery(userId: number, query: string): string;
  /** Every answerInlineQuery, in order. */
  inlineAnswers(): InlineAnswer[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startTelegram(): Promise<TelegramHarness> {
  const server = new TelegramServer({ host: '127.0.0.1', port: 1, storeTimeout: 600 });
  const files = new Map<string, Buffer>();
  // Routes the emulator lacks, placed before its catch-all "method not supported" route.
  const app = (server as unknown as { webServer: { get: Function; post: Function; use: Function; _router: { stack: { route?: { path: string } }[] } } }).webServer;
  const routesBefore = app._router.stack.length;
  app.post('/bot:token/getFile', (req: { body: { file_id: string } }, res: { json: Function; status: Function }) => {
    const id = req.body.file_id;
    if (!files.has(id)) return res.status(400).json({ ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
    res.json({ ok: true, result: { file_id: id, file_unique_id: id, file_size: files.get(id)!.length, file_path: `documents/${id}` } });
  });
  app.get('/file/bot:token/documents/:id', (req: { params: { id: string } }, res: { status: Function; end: Function }) => {
    const body = files.get(req.params.id);
    if (!body) return res.status(404).end();
    res.status(200).end(body);
  });
  const newer = newerMethods(app);
  const inline = inlineMethods(app);
  const added = app._router.stack.length - routesBefore;
  const calls: ApiCall[] = [];
  const faults = new Map<string, Fault & { windowEnds?: number; windows?: number }>();
  app.use(networkBoundary(calls, faults));
  const stack = app._router.stack;
  // Before every route: faults apply to the emulator's own methods too.
  const firstRoute = stack.findIndex((layer) => layer.route);
  stack.splice(firstRoute, 0, stack.pop()!);
  const catchAll = stack.findIndex((layer) => layer.route?.path === '/bot:token/:method');
  if (catchAll >= 0) stack.splice(catchAll, 0, ...stack.splice(stack.length - added, added));
  // The emulator only produces messages and button presses; anything else is served from here.
  const injected: Record<string, unknown>[] = [];
  const getUpdates = server.getUpdates.bind(server);
  server.getUpdates = (token: string) => [...getUpdates(token), ...injected.splice(0)] as never;
  server.config.port = 0;
  await server.start();
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  server.config.port = port;
  server.config.apiURL = `http://127.0.0.1:${port}`;

  const seen = new Map<string, number>();
  const sent = () => server.storage.botMessages as unknown as SentMessage[];
  return {
    apiRoot: server.config.apiURL,
    server,
    client: ({ userId, chatId, type = 'private', firstName = `用户${userId}` }) =>
      server.getClient(BOT_TOKEN, { userId, chatId: chatId ?? userId, type, firstName, userName: `user${userId}`, chatTitle: type === 'private' ? undefined : '测试群' } as never),
    async botMessages(chatId, count = 1, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const after = seen.get(String(chatId)) ?? 0;
        const mine = sent().filter((m) => String(m.message.chat_id) === String(chatId) && m.messageId > after);
        if (mine.length >= count) {
          seen.set(String(chatId), Math.max(...mine.slice(0, count).map((m) => m.messageId)));
          return mine.slice(0, count);
        }
        if (Date.now() > deadline) throw new Error(`waited for ${count} bot messages in chat ${chatId}, got ${mine.length}`);
        await sleep(25);
      }
    },
    allBotMessages: () => [...sent()],
    userMessageId(text) {
      const found = [...server.storage.userMessages].reverse().find((u) => (u as { message?: { text?: string } }).message?.text === text);
      if (!found) throw new Error(`no user message "${text}"`);
      return found.messageId;
    },
    async delivered() {
      const deadline = Date.now() + 10_000;
      while (server.storage.userMessages.some((u) => !u.isRead)) {
        if (Date.now() > deadline) throw new Error('the bot did not fetch its updates');
        await sleep(10);
      }
    },
    addFile: (fileId, content) => void files.set(fileId, content),
    reactions: () => [...newer.reactions],
    commandMenus: () => [...newer.menus],
    refuseReactions: (chatId) => void newer.refusing.add(String(chatId)),
    drafts: () => [...newer.drafts],
    withoutDrafts: () => void (newer.draftsUnknown.value = true),
    calls: () => [...calls],
    fault: (chatId, fault) => void (fault ? faults.set(String(chatId), { ...fault }) : faults.delete(String(chatId))),
    injectUpdate: (update) => {
      const internal = server as unknown as { updateId: number };
      const id = internal.updateId++;
      injected.push({ update_id: id, ...update });
      return id;
    },
    inlineQuery(userId, query) {
      const id = `iq${++inline.queries}`;
      const internal = server as unknown as { updateId: number };
      injected.push({ update_id: internal.updateId++, inline_query: { id, from: { id: userId, is_bot: false, first_name: `用户${userId}` }, query, offset: '', chat_type: 'sender' } });
      return id;
    },
    inlineAnswers: () => [...inline.answers],
    stop: async () => {
      await server.stop();
    },
  };
}

type Request = { path: string; body?: Record<string, unknown> };
type Response = { statusCode: number; status(code: number): Response; json(body: unknown): void; on(event: string, listener: () => void): void };

/** Logs each Bot API call and applies the chat's fault, if any, before the emulator sees it. */
function networkBoundary(calls: ApiCall[], faults: Map<string, Fault & { windowEnds?: number; windows?: number }>) {
  return (req: Request, res: Response, next: () => void) => {
    const method = /^\/bot[^/]+\/(\w+)/.exec(req.path)?.[1];
    if (!method || method === 'getUpdates') return next();
    const chatId = req.body?.chat_id === undefined ? undefined : String(req.body.chat_id);
    const call: ApiCall = { method, chatId, at: Date.now(), status: 0, body: { ...req.body } };
    calls.push(call);
    res.on('finish', () => (call.status = res.statusCode));
    const fault = chatId === undefined ? undefined : faults.get(chatId);
    if (!fault || (fault.methods && !fault.methods.includes(method))) return next();
    if ('delayMs' in fault) return void setTimeout(next, fault.delayMs);
    const now = Date.now();
    const inWindow = fault.windowEnds !== undefined && now < fault.windowEnds;
    if (!inWindow) {
      if ((fault.windows ?? 0) >= (fault.times ?? Infinity)) return next();
      fault.windowEnds = now + fault.retryAfter * 1000;
      fault.windows = (fault.windows ?? 0) + 1;
    }
    const retryAfter = Math.ceil((fault.windowEnds! - now) / 1000);
    res.status(429).json({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfter}`, parameters: { retry_after: retryAfter } });
  };
}

type Route = (req: { body: Record<string, unknown> }, res: { json: Function; status: Function }) => void;

/** Bot API methods newer than the emulator (7.0 reactions, 6.x command scopes, chat actions,
 * 9.5 drafts): what they were asked is kept for the tests; a chat can be made to refuse
 * reactions, and the server to lack drafts. */
function newerMethods(app: { post: Function }) {
  const reactions: Reaction[] = [];
  const menus: CommandMenu[] = [];
  const drafts: Draft[] = [];
  const draftsUnknown = { value: false };
  const refusing = new Set<string>();
  const badRequest = (res: { status: Function }, description: string) => res.status(400).json({ ok: false, error_code: 400, description: `Bad Request: ${description}` });
  const react: Route = (req, res) => {
    const { chat_id, message_id, reaction } = req.body as { chat_id?: unknown; message_id?: unknown; reaction?: unknown };
    if (chat_id === undefined || typeof message_id !== 'number') return badRequest(res, 'chat_id and message_id are required');
    if (refusing.has(String(chat_id))) return badRequest(res, 'REACTION_INVALID');
    reactions.push({ chatId: String(chat_id), messageId: message_id, reaction: (reaction ?? []) as Reaction['reaction'], at: Date.now() });
    res.json({ ok: true, result: true });
  };
  const setCommands: Route = (req, res) => {
    const { commands, scope } = req.body as { commands?: CommandMenu['commands']; scope?: CommandMenu['scope'] };
    if (!Array.isArray(commands)) return badRequest(res, 'commands must be an array');
    menus.push({ scope: scope ?? { type: 'default' }, commands, at: Date.now() });
    res.json({ ok: true, result: true });
  };
  app.post('/bot:token/setMessageReaction', react);
  app.post('/bot:token/setMyCommands', setCommands);
  const draft: Route = (req, res) => {
    if (draftsUnknown.value) return res.status(404).json({ ok: false, error_code: 404, description: 'Not Found' });
    const { chat_id, draft_id, text, message_thread_id } = req.body as { chat_id?: unknown; draft_id?: unknown; text?: unknown; message_thread_id?: number };
    if (typeof draft_id !== 'number' || draft_id === 0) return badRequest(res, 'draft_id must be non-zero');
    if (Number(chat_id) < 0) return badRequest(res, 'TEXTDRAFT_PEER_INVALID'); // private chats only
    if (typeof text !== 'string' || text.length > 4096) return badRequest(res, 'text must be 0-4096 characters');
    drafts.push({ chatId: String(chat_id), draftId: draft_id, text, threadId: message_thread_id, at: Date.now() });
    res.json({ ok: true, result: true });
  };
  app.post('/bot:token/sendChatAction', ((_req, res) => res.json({ ok: true, result: true })) as Route);
  app.post('/bot:token/sendMessageDraft', draft);
  return { reactions, menus, refusing, drafts, draftsUnknown };
}

/** Inline mode (Bot API 2.0), which the emulator lacks: answerInlineQuery is recorded. */
function inlineMethods(app: { post: Function }) {
  const state = { answers: [] as InlineAnswer[], queries: 0 };
  app.post('/bot:token/answerInlineQuery', ((req, res) => {
    const { inline_query_id, results, cache_time, is_personal, button } = req.body as Record<string, unknown>;
    const list = typeof results === 'string' ? JSON.parse(results) : results;
    if (typeof inline_query_id !== 'string' || !Array.isArray(list)) return res.status(400).json({ ok: false, error_code: 400, description: 'Bad Request: inline_query_id and results are required' });
    if (list.length > 50) return res.status(400).json({ ok: false, error_code: 400, description: 'Bad Request: RESULTS_TOO_MUCH' });
    state.answers.push({ inlineQueryId: inline_query_id, results: list, cacheTime: cache_time as number, isPersonal: is_personal as boolean, button: button as InlineAnswer['button'], at: Date.now() });
    res.json({ ok: true, result: true });
  }) as Route);
  return state;
}
