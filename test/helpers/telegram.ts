// The Bot API emulator (telegram-test-api) on 127.0.0.1, with the two things it lacks for our
// tests: getFile and file downloads, served from files the test registers.
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
    reply_parameters?: { message_id: number };
    reply_markup?: { inline_keyboard: { text: string; callback_data: string }[][] };
  };
}

type Client = ReturnType<TelegramServer['getClient']>;

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
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startTelegram(): Promise<TelegramHarness> {
  const server = new TelegramServer({ host: '127.0.0.1', port: 1, storeTimeout: 600 });
  const files = new Map<string, Buffer>();
  // Routes the emulator lacks, placed before its catch-all "method not supported" route.
  const app = (server as unknown as { webServer: { get: Function; post: Function; _router: { stack: { route?: { path: string } }[] } } }).webServer;
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
  const stack = app._router.stack;
  const catchAll = stack.findIndex((layer) => layer.route?.path === '/bot:token/:method');
  if (catchAll >= 0) {
    const added = stack.splice(stack.length - 2, 2);
    stack.splice(catchAll, 0, ...added);
  }
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
    stop: async () => {
      await server.stop();
    },
  };
}
