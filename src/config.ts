// .env → one typed, validated Config. Every mistake names the variable and how to fix it, and
// start-up stops before anything else runs.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DEFAULT_EMBEDDING_MODEL = 'Xenova/bge-small-zh-v1.5';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

const integer = (fallback: number, min: number, max: number, hint: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a whole number from ${min} to ${max} (${hint})` });
        return z.NEVER;
      }
      return n;
    });

const url = (hint: string) =>
  optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    try {
      const parsed = new URL(v);
      if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http');
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be an http(s) URL, e.g. ${hint}` });
    }
  });

const schema = z.object({
  TELEGRAM_BOT_TOKEN: optionalString.superRefine((v, ctx) => {
    if (v !== undefined && !/^\d+:[\w-]{20,}$/.test(v)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'does not look like a bot token (123456:ABC…); copy it from @BotFather, or leave it empty for the terminal chat' });
    }
  }),
  TELEGRAM_API_ROOT: url('http://127.0.0.1:8081 for a self-hosted telegram-bot-api'),
  ADMIN_USER_IDS: optionalString.transform((v, ctx) => {
    if (v === undefined) return [] as number[];
    const ids = v.split(/[\s,]+/).filter(Boolean);
    const bad = ids.filter((id) => !/^\d{1,15}$/.test(id));
    if (bad.length > 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be numeric Telegram user ids separated by commas, e.g. 123456789,987654321 (not: ${bad.join(', ')}); @userinfobot tells you yours` });
      return z.NEVER;
    }
    return ids.map(Number);
  }),
  CORPUS_DIR: optionalString.transform((v) => v ?? 'seeds'),
  INDEX_DIR: optionalString.transform((v) => v ?? 'index-data'),
  DATABASE_URL: optionalString.superRefine((v, ctx) => {
    if (v !== undefined && !/^postgres(ql)?:\/\//.test(v)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be a PostgreSQL URL, e.g. postgres://newsbot:secret@127.0.0.1:5432/newsbot (or leave it empty for the index in INDEX_DIR)' });
    }
  }),
  MAX_PAGE_BYTES: integer(2_000_000, 1_000, 100_000_000, 'pages larger than this are skipped'),
  EMBEDDING_MODEL: optionalString.transform((v) => v ?? DEFAULT_EMBEDDING_MODEL),
  EMBEDDING_MODEL_PATH: optionalString,
  EMBEDDINGS_BASE_URL: url('https://api.example.com/v1'),
  EMBEDDINGS_API_KEY: optionalString,
  EMBEDDINGS_MODEL: optionalString,
  LLM_BASE_URL: url('https://api.deepseek.com/v1'),
  LLM_API_KEY: optionalString,
  LLM_MODEL: optionalString,
  LLM_TIMEOUT_MS: integer(30_000, 1_000, 600_000, 'milliseconds'),
  LLM_MAX_RETRIES: integer(2, 0, 10, 'retries on 429 and 5xx'),
  LLM_CONTEXT_CHARS: integer(24_000, 1_000, 500_000, 'characters of article text the LLM is shown; ~24000 suits a 32k-token model'),
  LIST_MAX_ARTICLES: integer(6, 1, 30, 'articles at most in an answer that lists several'),
  HNSW_M: integer(16, 4, 128, 'graph degree'),
  HNSW_EF_CONSTRUCTION: integer(200, 10, 2000, 'build-time search width'),
  HNSW_EF_SEARCH: integer(64, 10, 2000, 'query-time search width'),
  CHUNK_SIZE: integer(300, 80, 1500, 'characters per chunk'),
  CHUNK_OVERLAP: integer(60, 0, 500, 'characters shared by neighbouring chunks'),
  WEBHOOK_URL: url('https://bot.example.com/telegram'),
  WEBHOOK_SECRET: optionalString.superRefine((v, ctx) => {
    if (v !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(v)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'may only contain A-Z, a-z, 0-9, _ and - (Telegram rule), 1 to 256 characters' });
    }
  }),
  PORT: integer(8080, 1, 65535, 'HTTP port for webhook mode'),
  INDEX_WATCH_MS: integer(10_000, 50, 3_600_000, 'how often a running bot or chat checks INDEX_DIR for a build made by another process'),
  MAX_QUESTION_CHARS: integer(500, 10, 4000, 'longer questions are refused politely'),
  RATE_LIMIT_PER_MINUTE: integer(10, 1, 1000, 'questions per user per minute'),
  ANSWER_CONCURRENCY: integer(8, 1, 256, 'questions answered at once (more wait their turn, users taking turns)'),
  MAX_QUEUED_QUESTIONS: integer(200, 1, 100_000, 'questions waiting for their turn; beyond that users are told the bot is busy'),
  LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error', 'silent'], { errorMap: () => ({ message: 'must be one of debug, info, warn, error, silent' }) })
    .optional()
    .transform((v) => v ?? 'info'),
});

type Env = z.infer<typeof schema>;

export interface Config {
  telegram: { token?: string; apiRoot?: string; adminUserIds: number[]; webhookUrl?: string; webhookSecret?: string; port: number };
  corpusDir: string;
  indexDir: string;
  /** Set: the index and the bot's state live in PostgreSQL (pgvector), shared by replicas, and
   * nothing is written to INDEX_DIR. */
  databaseUrl?: string;
  /** How often a running process looks for a build swapped in by another one. */
  indexWatchMs: number;
  maxPageBytes: number;
  embeddings:
    | { provider: 'local'; model: string; modelPath?: string }
    | { provider: 'openai'; baseUrl: string; apiKey?: string; model: string };
  llm?: { baseUrl: string; apiKey: string; model: string; timeoutMs: number; maxRetries: number };
  answers: { llmContextChars: number; listMaxArticles: number };
  hnsw: { m: number; efConstruction: number; efSearch: number };
  chunking: { size: number; overlap: number };
  maxQuestionChars: number;
  rateLimitPerMinute: number;
  queue: { concurrency: number; maxQueued: number };
  logLevel: Env['LOG_LEVEL'];
}

export interface LoadConfigOptions {
  /** Variables to read instead of process.env (tests). */
  env?: NodeJS.ProcessEnv;
  /** Read .env from this directory first (default: the working directory). Pass false to skip. */
  dotenvDir?: string | false;
  /** Base for relative paths (default: the working directory). */
  cwd?: string;
}

/** Reads .env (without overriding variables already set), validates, and resolves paths. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  if (options.dotenvDir !== false) {
    const file = path.join(options.dotenvDir ?? cwd, '.env');
    if (existsSync(file)) {
      const parsed = dotenv.config({ path: file, processEnv: {} }).parsed ?? {};
      for (const [key, value] of Object.entries(parsed)) if (env[key] === undefined) env[key] = value;
    }
  }
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration (set in .env or the environment; see .env.example):\n${lines.join('\n')}`);
  }
  const e = result.data;
  const resolve = (p: string) => path.resolve(cwd, p);

  const corpusDir = resolve(e.CORPUS_DIR);
  if (!existsSync(corpusDir) || !statSync(corpusDir).isDirectory()) {
    throw new ConfigError(`CORPUS_DIR=${e.CORPUS_DIR} is not a directory (looked at ${corpusDir}). Point it at the folder of .txt/.md pages, or unset it to use seeds/.`);
  }
  const llmParts = [e.LLM_BASE_URL, e.LLM_API_KEY, e.LLM_MODEL];
  const llmSet = llmParts.filter((v) => v !== undefined).length;
  if (llmSet > 0 && llmSet < 3) {
    throw new ConfigError('LLM_BASE_URL, LLM_API_KEY and LLM_MODEL go together: set all three for LLM answers, or none for extractive answers (for a local server without keys, set LLM_API_KEY=none).');
  }
  if (e.EMBEDDINGS_BASE_URL && !e.EMBEDDINGS_MODEL) {
    throw new ConfigError('EMBEDDINGS_BASE_URL is set but EMBEDDINGS_MODEL is not: name the embedding model the endpoint serves, e.g. EMBEDDINGS_MODEL=text-embedding-3-small.');
  }
  if (e.CHUNK_OVERLAP >= e.CHUNK_SIZE) {
    throw new ConfigError(`CHUNK_OVERLAP=${e.CHUNK_OVERLAP} must be smaller than CHUNK_SIZE=${e.CHUNK_SIZE}.`);
  }
  if (e.WEBHOOK_URL && !e.TELEGRAM_BOT_TOKEN) {
    throw new ConfigError('WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not: webhook mode needs the bot token.');
  }
  if (e.WEBHOOK_URL && !e.WEBHOOK_SECRET) {
    // Without it anyone who finds the URL could post updates in an admin's name.
    throw new ConfigError('WEBHOOK_URL is set but WEBHOOK_SECRET is not: set a secret (A-Z a-z 0-9 _ -) so that only Telegram can post updates.');
  }
  if (e.WEBHOOK_URL && !e.WEBHOOK_URL.startsWith('https://') && !e.TELEGRAM_API_ROOT) {
    throw new ConfigError(`WEBHOOK_URL=${e.WEBHOOK_URL} must be https: Telegram only posts to HTTPS webhooks (plain http works only with a self-hosted TELEGRAM_API_ROOT).`);
  }

  return {
    telegram: {
      token: e.TELEGRAM_BOT_TOKEN,
      apiRoot: e.TELEGRAM_API_ROOT,
      adminUserIds: e.ADMIN_USER_IDS,
      webhookUrl: e.WEBHOOK_URL,
      webhookSecret: e.WEBHOOK_SECRET,
      port: e.PORT,
    },
    corpusDir,
    indexDir: resolve(e.INDEX_DIR),
    databaseUrl: e.DATABASE_URL,
    indexWatchMs: e.INDEX_WATCH_MS,
    maxPageBytes: e.MAX_PAGE_BYTES,
    embeddings: e.EMBEDDINGS_BASE_URL
      ? { provider: 'openai', baseUrl: e.EMBEDDINGS_BASE_URL, apiKey: e.EMBEDDINGS_API_KEY, model: e.EMBEDDINGS_MODEL! }
      : { provider: 'local', model: e.EMBEDDING_MODEL, modelPath: e.EMBEDDING_MODEL_PATH ? resolve(e.EMBEDDING_MODEL_PATH) : undefined },
    llm:
      llmSet === 3
        ? { baseUrl: e.LLM_BASE_URL!, apiKey: e.LLM_API_KEY!, model: e.LLM_MODEL!, timeoutMs: e.LLM_TIMEOUT_MS, maxRetries: e.LLM_MAX_RETRIES }
        : undefined,
    answers: { llmContextChars: e.LLM_CONTEXT_CHARS, listMaxArticles: e.LIST_MAX_ARTICLES },
    hnsw: { m: e.HNSW_M, efConstruction: e.HNSW_EF_CONSTRUCTION, efSearch: e.HNSW_EF_SEARCH },
    chunking: { size: e.CHUNK_SIZE, overlap: e.CHUNK_OVERLAP },
    maxQuestionChars: e.MAX_QUESTION_CHARS,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    queue: { concurrency: e.ANSWER_CONCURRENCY, maxQueued: e.MAX_QUEUED_QUESTIONS },
    logLevel: e.LOG_LEVEL,
  };
}
