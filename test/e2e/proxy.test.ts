// HTTPS_PROXY / HTTP_PROXY / ALL_PROXY: the bot reaches Telegram, and the LLM and embeddings
// clients reach their endpoints, only through the proxy (the made-up hosts telegram.test and
// llm.test resolve only there); a dead proxy, a bad proxy URL, a rejected token and an unknown
// host each stop start-up with one line that says what to do. No embedding model needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createChatModel } from '../../src/answer/llm.ts';
import { startBot } from '../../src/bot/run.ts';
import { createServices, type Services } from '../../src/cli/shared.ts';
import { ConfigError } from '../../src/config.ts';
import { OperatorError } from '../../src/errors.ts';
import { createRemoteEmbeddings } from '../../src/index/embeddings.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { installProxy, uninstallProxy } from '../../src/net/proxy.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';
import { startFakeOpenAI } from '../helpers/fake-openai.ts';
import { startHttpProxy, startSocksProxy } from '../helpers/proxy-server.ts';
import { BOT_TOKEN, startTelegram } from '../helpers/telegram.ts';
import { tempDir } from '../helpers/tmp.ts';
import { freePort } from '../helpers/port.ts';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY'].flatMap((name) => [name, name.toLowerCase()]);
const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
const restoreEnv = () => {
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
};

/** Every proxy variable empty (set, so that a developer's .env does not fill it in), then `vars`. */
const onlyProxyVariables = (vars: Record<string, string>) => ({ ...Object.fromEntries(PROXY_VARIABLES.map((name) => [name, ''])), ...vars });

/** Runs `fn` with exactly these proxy variables (the machine's own are hidden), then puts back
 * the environment and the global dispatcher. */
async function withProxyEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  Object.assign(process.env, onlyProxyVariables(vars));
  uninstallProxy();
  try {
    return await fn();
  } finally {
    uninstallProxy();
    restoreEnv();
  }
}

const corpus = seedCorpus();
const noModel = tempDir('newsbot-nomodel-'); // an empty model folder: keyword retrieval only
const telegram = await startTelegram();
const emulatorPort = new URL(telegram.apiRoot).port;
const hosts = { 'telegram.test': '127.0.0.1', 'llm.test': '127.0.0.1' };
const httpProxy = await startHttpProxy({ hosts });
const socksProxy = await startSocksProxy({ hosts });
const fakeOpenAI = await startFakeOpenAI({ content: '代理通了。' });
const rejecting = createHttpServer((_req, res) => {
  res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
});
await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
after(async () => {
  uninstallProxy();
  restoreEnv();
  rejecting.closeAllConnections();
  await Promise.all([telegram.stop(), httpProxy.close(), socksProxy.close(), fakeOpenAI.close(), new Promise((resolve) => rejecting.close(resolve))]);
});

/** The bot's settings: the emulator under a name only the test proxies resolve. */
const botConfig = (apiRoot = `http://telegram.test:${emulatorPort}`) =>
  testConfig({ ...corpus.env, EMBEDDING_MODEL_PATH: noModel, TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: apiRoot });

// Services for the start-up failures, which never get past getMe.
let services: Services;
before(async () => {
  services = await withProxyEnv({}, () => createServices(botConfig(), silentLogger));
  await services.index.loadOrBuild();
});


async function answersThroughProxy(userId: number, vars: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const logger = createLogger('info', (line) => lines.push(line));
  await withProxyEnv(vars, async () => {
    const proxied = await createServices(botConfig(), logger);
    await proxied.index.loadOrBuild(); // built in before()
    const running = await startBot(proxied);
    try {
      const user = telegram.client({ userId });
      await user.sendMessage(user.makeMessage('浏阳大瑶镇有多少家花炮上下游企业？'));
      const [answer] = await telegram.botMessages(userId, 1, 30_000);
      assert.match(answer.message.text, /400多家/);
    } finally {
      await running.stop('test end');
    }
  });
  return lines;
}

const startFails = (vars: Record<string, string>, apiRoot?: string) =>
  withProxyEnv(vars, () => startBot({ ...services, config: botConfig(apiRoot), logger: silentLogger }).then(async (running) => {
    await running.stop('test end');
    assert.fail('the bot started');
  }));

test('the bot reaches Telegram only through the HTTP proxy (HTTPS_PROXY / HTTP_PROXY)', { timeout: 60_000 }, async () => {
  const withLogin = httpProxy.url.replace('http://', 'http://operator:s3cret@');
  const log = await answersThroughProxy(3001, { HTTPS_PROXY: withLogin, HTTP_PROXY: withLogin, NO_PROXY: '' });
  const methods = httpProxy.telegramMethods();
  for (const method of ['getMe', 'getUpdates', 'sendMessage']) assert.ok(methods.includes(method), `${method} went through the proxy: ${methods.join(', ')}`);
  // A plain http:// API root is proxied as absolute-URI requests, not tunnelled.
  assert.ok(httpProxy.requests.some((r) => r.kind === 'http' && r.target.startsWith(`http://telegram.test:${emulatorPort}/bot`)));
  const proxyLine = log.find((line) => line.includes('Proxy:'));
  assert.ok(proxyLine, `the proxy in use is logged:\n${log.join('\n')}`);
  assert.match(proxyLine, new RegExp(`http://127\\.0\\.0\\.1:${httpProxy.port} \\(HTTP_PROXY\\)`));
  assert.doesNotMatch(log.join('\n'), /s3cret|operator/, 'no credentials in the log');
});

test('the bot reaches Telegram only through a SOCKS5 proxy (ALL_PROXY)', { timeout: 60_000 }, async () => {
  await answersThroughProxy(3002, { ALL_PROXY: socksProxy.url });
  assert.ok(socksProxy.requests.some((r) => r.kind === 'connect' && r.target === `telegram.test:${emulatorPort}`), 'the proxy resolved telegram.test');
  const methods = socksProxy.telegramMethods();
  for (const method of ['getMe', 'getUpdates', 'sendMessage']) assert.ok(methods.includes(method), `${method} went through the proxy: ${methods.join(', ')}`);
});

test('the LLM and embeddings clients (Node fetch) go through the HTTP and SOCKS5 proxies', { timeout: 60_000 }, async () => {
  const baseUrl = fakeOpenAI.baseUrl.replace('127.0.0.1', 'llm.test');
  const llm = createChatModel({ baseUrl, apiKey: 'test-key', model: 'fake-model', timeoutMs: 10_000, maxRetries: 0 });
  const embeddings = await createRemoteEmbeddings({ baseUrl, model: 'fake-embeddings' });
  for (const [proxy, vars] of [
    [httpProxy, { HTTP_PROXY: httpProxy.url }],
    [socksProxy, { ALL_PROXY: socksProxy.url }],
  ] as const) {
    const counts = { chat: fakeOpenAI.requests.length, embeddings: fakeOpenAI.embeddingRequests.length };
    await withProxyEnv(vars, async () => {
      installProxy({ logger: silentLogger }); // what createServices does
      assert.equal(await llm.complete([{ role: 'user', content: '你好' }]), '代理通了。');
      assert.equal((await embeddings.embedQuery('邓州')).length, 64);
    });
    assert.equal(fakeOpenAI.requests.length, counts.chat + 1);
    assert.equal(fakeOpenAI.embeddingRequests.length, counts.embeddings + 1);
    const paths = proxy.requests.map((r) => r.target);
    assert.ok(paths.some((p) => p.endsWith('/v1/chat/completions')), `chat went through ${proxy.url}: ${paths.join(', ')}`);
    assert.ok(paths.some((p) => p.endsWith('/v1/embeddings')), `embeddings went through ${proxy.url}: ${paths.join(', ')}`);
  }
  // Uninstalled, fetch is direct again: llm.test does not resolve.
  await assert.rejects(llm.complete([{ role: 'user', content: '你好' }]));
});

test('a proxy that refuses connections stops start-up with one line naming it', { timeout: 60_000 }, async () => {
  const closed = await freePort();
  await assert.rejects(startFails({ HTTPS_PROXY: `http://operator:s3cret@127.0.0.1:${closed}`, HTTP_PROXY: `http://operator:s3cret@127.0.0.1:${closed}` }), (error: Error) => {
    assert.ok(error instanceof OperatorError, String(error));
    assert.match(error.message, new RegExp(`^Telegram \\(telegram\\.test:${emulatorPort}, from TELEGRAM_API_ROOT\\) is unreachable through the proxy 127\\.0\\.0\\.1:${closed} \\(HTTP_PROXY=`));
    assert.match(error.message, /ECONNREFUSED/);
    assert.match(error.message, /set TELEGRAM_API_ROOT\.$/);
    assert.doesNotMatch(error.message, /s3cret|\n/);
    return true;
  });
});

test('a proxy that cannot reach Telegram (HTTP 502, SOCKS failure) stops start-up with one line', { timeout: 60_000 }, async () => {
  for (const vars of [{ HTTP_PROXY: httpProxy.url }, { ALL_PROXY: socksProxy.url }] as Record<string, string>[]) {
    await assert.rejects(startFails(vars, 'http://nowhere.test:81'), (error: Error) => {
      assert.ok(error instanceof OperatorError, String(error));
      assert.match(error.message, /^Telegram \(nowhere\.test:81, from TELEGRAM_API_ROOT\) is unreachable through the proxy 127\.0\.0\.1:\d+ .*could not reach nowhere\.test:81/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

test('a bad proxy URL is one operator message naming the variable, before anything starts', { timeout: 60_000 }, async () => {
  for (const [vars, expected] of [
    [{ HTTPS_PROXY: 'ftp://proxy.example:21' }, /^HTTPS_PROXY=ftp:\/\/proxy\.example:21 has an unsupported scheme ftp: use http:\/\/host:port or socks5:\/\/host:port/],
    [{ all_proxy: 'socks5://user:pw@[oops' }, /^all_proxy=socks5:\/\/\*\*\*@\[oops is not a valid proxy URL: use http:\/\/host:port/],
  ] as const) {
    await assert.rejects(withProxyEnv(vars, () => createServices(botConfig(), silentLogger)), (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, expected);
      assert.doesNotMatch(error.message, /:pw@|\n/);
      return true;
    });
    await assert.rejects(startFails(vars), ConfigError);
  }
  // As an operator sees it: the message, exit status 1, no stack trace.
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/ask.ts', '问题'], {
    env: { ...process.env, ...corpus.env, EMBEDDING_MODEL_PATH: noModel, LOG_LEVEL: 'warn', ...onlyProxyVariables({ HTTPS_PROXY: 'ftp://proxy.example:21' }) },
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(child.status, 1, child.stderr);
  assert.match(child.stderr, /HTTPS_PROXY=ftp:\/\/proxy\.example:21 has an unsupported scheme/);
  assert.doesNotMatch(child.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
});

test('a token Telegram rejects (401) says to copy it again from @BotFather', { timeout: 60_000 }, async () => {
  const apiRoot = `http://127.0.0.1:${(rejecting.address() as AddressInfo).port}`;
  await assert.rejects(startFails({}, apiRoot), (error: Error) => {
    assert.ok(error instanceof OperatorError, String(error));
    assert.equal(error.message, 'TELEGRAM_BOT_TOKEN was rejected by Telegram (401 Unauthorized): copy the token again from @BotFather (/mybots → API Token)');
    return true;
  });
});

test('an API root that does not resolve says Telegram is unreachable and to set a proxy', { timeout: 60_000 }, async () => {
  await assert.rejects(startFails({}, 'http://api.telegram.invalid'), (error: Error) => {
    assert.ok(error instanceof OperatorError, String(error));
    assert.equal((error as OperatorError).code, 'NETWORK_UNREACHABLE', 'exits 75: a service manager retries');
    assert.match(error.message, /^Telegram \(api\.telegram\.invalid, from TELEGRAM_API_ROOT\) is unreachable from this machine \(getaddrinfo (ENOTFOUND|EAI_AGAIN) api\.telegram\.invalid\)\. Set HTTP_PROXY to a proxy that reaches it \(http:\/\/host:port or socks5:\/\/host:port\), or TELEGRAM_API_ROOT/);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
});

test('webhook mode: a PORT in use is named with its fix, not a crash', { timeout: 60_000 }, async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const config = testConfig({
      ...corpus.env,
      EMBEDDING_MODEL_PATH: noModel,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      WEBHOOK_SECRET: 'secret_1',
      PORT: String(port),
    });
    await withProxyEnv({}, () =>
      assert.rejects(startBot({ ...services, config, logger: silentLogger }), (error: Error) => {
        assert.ok(error instanceof OperatorError, String(error));
        assert.match(error.message, new RegExp(`^PORT=${port} is already in use by another process: stop that process or set PORT to a free port`));
        return true;
      }),
    );
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});
