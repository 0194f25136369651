// Which proxy a URL goes through (variables, precedence, NO_PROXY, loopback), and what a failed
// getMe means for the operator.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { TelegramError } from 'telegraf';
import { telegramStartupError } from '../../src/bot/telegram-errors.ts';
import { ConfigError } from '../../src/config.ts';
import { OperatorError } from '../../src/errors.ts';
import { proxyFor, readProxySettings, telegramAgent } from '../../src/net/proxy.ts';
import { tempDir } from '../helpers/tmp.ts';

const settings = (env: Record<string, string>) => readProxySettings(env, false);
const via = (url: string, env: Record<string, string>) => proxyFor(url, settings(env))?.display;

test('https uses HTTPS_PROXY, then ALL_PROXY, then HTTP_PROXY; http uses HTTP_PROXY, then ALL_PROXY', () => {
  assert.equal(via('https://api.telegram.org', { HTTPS_PROXY: 'http://a:1', ALL_PROXY: 'socks5://b:2', HTTP_PROXY: 'http://c:3' }), 'http://a:1');
  assert.equal(via('https://api.telegram.org', { ALL_PROXY: 'socks5://b:2', HTTP_PROXY: 'http://c:3' }), 'socks5://b:2');
  assert.equal(via('https://api.telegram.org', { HTTP_PROXY: 'http://c:3' }), 'http://c:3');
  assert.equal(via('http://llm.example', { HTTPS_PROXY: 'http://a:1' }), undefined);
  assert.equal(via('http://llm.example', { HTTPS_PROXY: 'http://a:1', all_proxy: 'socks5h://b:2' }), 'socks5h://b:2');
  // Lower case wins, empty counts as unset, host:port alone is an http proxy, default ports.
  assert.equal(via('https://x.example', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' }), 'http://lower:1');
  assert.equal(via('https://x.example', { https_proxy: ' ', HTTPS_PROXY: 'http://upper:2' }), 'http://upper:2');
  assert.equal(via('https://x.example', { HTTPS_PROXY: '10.0.0.1:7890' }), 'http://10.0.0.1:7890');
  assert.equal(via('https://x.example', { HTTPS_PROXY: 'socks5://proxy.lan' }), 'socks5://proxy.lan:1080');
  assert.equal(via('https://x.example', {}), undefined);
});

test('.env fills in proxy variables the environment does not set', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, '.env'), 'HTTPS_PROXY=http://from-dotenv:1\nNO_PROXY=api.telegram.org\nLLM_MODEL=x\n');
  assert.equal(readProxySettings({}, dir).https?.display, 'http://from-dotenv:1');
  assert.deepEqual(readProxySettings({}, dir).noProxy, ['api.telegram.org']);
  assert.equal(readProxySettings({ HTTPS_PROXY: 'http://from-env:2' }, dir).https?.display, 'http://from-env:2');
  assert.equal(readProxySettings({ HTTPS_PROXY: '' }, dir).https, undefined, 'set but empty: no proxy');
});

test('NO_PROXY and loopback addresses go direct', () => {
  const env = { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', NO_PROXY: 'internal.example, .corp.example,10.0.0.0/8,llm.lan:8000 192.168.1.5' };
  for (const direct of ['https://internal.example', 'https://a.internal.example', 'https://x.corp.example', 'http://10.2.3.4:8000', 'http://llm.lan:8000', 'http://192.168.1.5', 'http://127.0.0.1:11434/v1', 'http://localhost:8081', 'http://[::1]:8081']) {
    assert.equal(via(direct, env), undefined, direct);
  }
  for (const proxied of ['https://api.telegram.org', 'https://notinternal.example', 'http://llm.lan:8001', 'http://11.0.0.1', 'http://192.168.1.6']) {
    assert.equal(via(proxied, env), 'http://p:1', proxied);
  }
  assert.equal(via('https://api.telegram.org', { ...env, no_proxy: '*' }), undefined);
});

test('a bad proxy URL names the variable and the fix, without its password', () => {
  for (const [env, message] of [
    [{ HTTPS_PROXY: 'ftp://proxy:21' }, /^HTTPS_PROXY=ftp:\/\/proxy:21 has an unsupported scheme ftp: use http:\/\/host:port or socks5:\/\/host:port/],
    [{ http_proxy: 'http://user:secret@[bad' }, /^http_proxy=http:\/\/\*\*\*@\[bad is not a valid proxy URL/],
    [{ ALL_PROXY: 'http://proxy:8080/some/path' }, /^ALL_PROXY=.* has a path/],
  ] as const) {
    assert.throws(() => settings(env), (error: Error) => error instanceof ConfigError && message.test(error.message) && !error.message.includes('secret'));
  }
});

test('Telegraf gets an agent only when Telegram goes through a proxy', () => {
  assert.equal(telegramAgent('https://api.telegram.org', settings({})), undefined);
  assert.equal(telegramAgent('http://127.0.0.1:8081', settings({ HTTP_PROXY: 'http://p:1' })), undefined);
  assert.equal(telegramAgent('https://api.telegram.org', settings({ HTTPS_PROXY: 'http://p:1' }))?.constructor.name, 'HttpsProxyAgent');
  assert.equal(telegramAgent('http://bot-api.lan', settings({ HTTP_PROXY: 'http://p:1' }))?.constructor.name, 'HttpProxyAgent');
  assert.equal(telegramAgent('https://api.telegram.org', settings({ ALL_PROXY: 'socks5://p:1' }))?.constructor.name, 'SocksProxyAgent');
});

test('getMe failures become one line with the remedy', () => {
  const network = (code: string) => Object.assign(new Error(`request to https://api.telegram.org/bot1:[REDACTED]/getMe failed, reason: connect ${code} 149.154.167.220:443`), { name: 'FetchError', type: 'system', code });
  for (const code of ['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED']) {
    const mapped = telegramStartupError(network(code), undefined, undefined) as Error;
    assert.ok(mapped instanceof OperatorError);
    assert.equal(
      mapped.message,
      `Telegram (api.telegram.org) is unreachable from this machine (connect ${code} 149.154.167.220:443). Set HTTPS_PROXY to a proxy that reaches it (http://host:port or socks5://host:port), or TELEGRAM_API_ROOT to a Bot API server this machine can reach.`,
    );
  }
  const proxy = proxyFor('https://api.telegram.org', settings({ HTTPS_PROXY: 'socks5://user:pw@10.0.0.1:1080' }));
  const socks = Object.assign(new Error('request to https://api.telegram.org/bot1:[REDACTED]/getMe failed, reason: Socks5 proxy rejected connection - HostUnreachable'), { name: 'FetchError', type: 'system' });
  const viaProxy = telegramStartupError(socks, undefined, proxy) as Error;
  assert.ok(viaProxy instanceof OperatorError);
  assert.match(viaProxy.message, /^Telegram \(api\.telegram\.org\) is unreachable through the proxy 10\.0\.0\.1:1080 \(HTTPS_PROXY=socks5:\/\/10\.0\.0\.1:1080\): the proxy refused the connection or could not reach api\.telegram\.org \(Socks5 proxy rejected connection - HostUnreachable\)/);
  assert.doesNotMatch(viaProxy.message, /pw/);
  const badGateway = new TelegramError({ error_code: 502, description: 'Bad Gateway' });
  assert.ok(telegramStartupError(badGateway, undefined, proxy) instanceof OperatorError, 'a proxy answering 502 failed');
  assert.equal(telegramStartupError(badGateway, undefined, undefined), badGateway, 'without a proxy a 502 is Telegram\'s own');
  const unauthorized = new TelegramError({ error_code: 401, description: 'Unauthorized' });
  assert.equal((telegramStartupError(unauthorized, undefined, proxy) as Error).message, 'TELEGRAM_BOT_TOKEN was rejected by Telegram (401 Unauthorized): copy the token again from @BotFather (/mybots → API Token)');
  const bug = new TypeError('x is not a function');
  assert.equal(telegramStartupError(bug), bug, 'anything else is passed on unchanged');
});

test('an untrusted certificate and a reply that is not the Bot API get their own remedy', () => {
  const tls = Object.assign(new Error('request to https://api.telegram.org/bot1:[REDACTED]/getMe failed, reason: self-signed certificate in certificate chain'), { name: 'FetchError', type: 'system', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  assert.equal(
    (telegramStartupError(tls, undefined, undefined) as Error).message,
    'The HTTPS certificate presented for api.telegram.org is not trusted (self-signed certificate in certificate chain). If a company proxy inspects HTTPS, start with NODE_EXTRA_CA_CERTS=/path/to/its-ca.pem.',
  );
  // node-fetch names the URL, token included, when a proxy's login page comes back instead.
  const html = Object.assign(new Error('invalid json response body at https://api.telegram.org/bot1:abcdefghijklmnopqrstuvwxyz/getMe reason: Unexpected token \'<\''), { name: 'FetchError', type: 'invalid-json' });
  const proxy = proxyFor('https://api.telegram.org', settings({ HTTPS_PROXY: 'http://10.0.0.1:3128' }));
  const mapped = telegramStartupError(html, undefined, proxy) as Error;
  assert.ok(mapped instanceof OperatorError);
  assert.equal(mapped.message, 'Telegram is unreachable: the proxy 10.0.0.1:3128 (HTTPS_PROXY) answered instead of Telegram (api.telegram.org) (the reply was not JSON). If the proxy needs a login, put user:password@ in HTTPS_PROXY; check that it allows api.telegram.org.');
  assert.doesNotMatch((telegramStartupError(html, undefined, undefined) as Error).message, /abcdefghij/, 'no token');
});

test('a bad proxy value never prints its password, whatever its shape', () => {
  for (const value of ['user:secret@proxy:8080/x', 'http://user:pa/ss@proxy:8080/x', 'ftp://user:p@ss@proxy:21']) {
    assert.throws(() => readProxySettings({ HTTPS_PROXY: value }, false), (error: Error) => {
      assert.doesNotMatch(error.message, /secret|pa\/ss|p@ss|ss@/, error.message);
      return true;
    });
  }
});

test('a local Bot API server that is down is named as such, with no proxy advice', () => {
  const refused = Object.assign(new Error('request to http://127.0.0.1:8081/bot1:x/getMe failed, reason: connect ECONNREFUSED 127.0.0.1:8081'), { name: 'FetchError', type: 'system', code: 'ECONNREFUSED' });
  const mapped = telegramStartupError(refused, 'http://127.0.0.1:8081', undefined) as OperatorError;
  assert.equal(mapped.code, 'NETWORK_UNREACHABLE');
  assert.match(mapped.message, /^Telegram \(127\.0\.0\.1:8081, from TELEGRAM_API_ROOT\) is not answering \(connect ECONNREFUSED 127\.0\.0\.1:8081\): is the Bot API server there running\?/);
  assert.doesNotMatch(mapped.message, /PROXY/);
});
