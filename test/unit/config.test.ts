import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tempDir } from '../helpers/tmp.ts';

const load = (env: Record<string, string>) => loadConfig({ env, dotenvDir: false, cwd: process.cwd() });

test('defaults need no keys: seeds/, index-data/, local embeddings, extractive answers', () => {
  const config = load({});
  assert.equal(config.corpusDir, path.resolve('seeds'));
  assert.equal(config.indexDir, path.resolve('index-data'));
  assert.deepEqual(config.embeddings, { provider: 'local', model: 'Xenova/bge-small-zh-v1.5', modelPath: undefined });
  assert.equal(config.llm, undefined);
  assert.deepEqual(config.telegram.adminUserIds, []);
});

test('a bad value stops start-up with one message naming the variable and the fix', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ ADMIN_USER_IDS: 'abc' }, /ADMIN_USER_IDS: must be numeric Telegram user ids.*abc/],
    [{ CORPUS_DIR: 'no/such/dir' }, /CORPUS_DIR=no\/such\/dir is not a directory/],
    [{ HNSW_M: 'lots' }, /HNSW_M: must be a whole number/],
    [{ LLM_BASE_URL: 'https://api.deepseek.com/v1' }, /LLM_BASE_URL, LLM_API_KEY and LLM_MODEL go together/],
    [{ LLM_BASE_URL: 'not a url', LLM_API_KEY: 'k', LLM_MODEL: 'm' }, /LLM_BASE_URL: must be an http\(s\) URL/],
    [{ TELEGRAM_BOT_TOKEN: 'oops' }, /TELEGRAM_BOT_TOKEN: does not look like a bot token/],
    [{ CHUNK_SIZE: '100', CHUNK_OVERLAP: '100' }, /CHUNK_OVERLAP=100 must be smaller than CHUNK_SIZE=100/],
    [{ LOG_LEVEL: 'chatty' }, /LOG_LEVEL: must be one of debug, info/],
    [{ TELEGRAM_BOT_TOKEN: '123456:abcdefghijklmnopqrstuvwxyz', WEBHOOK_URL: 'https://bot.example.com/hook' }, /WEBHOOK_SECRET is not/],
    [{ TELEGRAM_BOT_TOKEN: '123456:abcdefghijklmnopqrstuvwxyz', WEBHOOK_URL: 'http://bot.example.com/hook', WEBHOOK_SECRET: 's' }, /must be https/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => load(env), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env));
  }
});

test('admin ids, LLM settings and paths are parsed', () => {
  const config = load({ ADMIN_USER_IDS: '12, 34', LLM_BASE_URL: 'http://127.0.0.1:1/v1', LLM_API_KEY: 'none', LLM_MODEL: 'qwen', EMBEDDING_MODEL_PATH: 'models' });
  assert.deepEqual(config.telegram.adminUserIds, [12, 34]);
  assert.equal(config.llm?.model, 'qwen');
  assert.deepEqual(config.embeddings, { provider: 'local', model: 'Xenova/bge-small-zh-v1.5', modelPath: path.resolve('models') });
});

test('.env is read, and the environment wins over it', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, '.env'), 'ADMIN_USER_IDS=7\nLOG_LEVEL=debug\n');
  const config = loadConfig({ env: { LOG_LEVEL: 'warn', CORPUS_DIR: path.resolve('seeds') }, dotenvDir: dir });
  assert.deepEqual(config.telegram.adminUserIds, [7]);
  assert.equal(config.logLevel, 'warn');
});

test('.env.example, copied to .env as it is, is a valid configuration', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, '.env'), readFileSync('.env.example', 'utf8'));
  const config = loadConfig({ env: {}, dotenvDir: dir, cwd: process.cwd() });
  assert.equal(config.corpusDir, path.resolve('seeds'));
  assert.equal(config.telegram.token, undefined);
});
