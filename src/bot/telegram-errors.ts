// What a failed first call to Telegram (getMe) means for the operator: one line with the remedy
// instead of node-fetch's "request to … failed" and a stack trace.
import { OperatorError, redactSecrets } from '../errors.ts';
import { currentProxySettings, proxyFor, type Proxy } from '../net/proxy.ts';

const TELEGRAM_API_ROOT = 'https://api.telegram.org';

const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EPIPE',
  'ERR_SOCKET_CLOSED',
]);

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string | number;
  errno?: string | number;
  type?: string;
  response?: { error_code?: number; description?: string };
}

function proxyForSafely(apiRoot: string): Proxy | undefined {
  try {
    return proxyFor(apiRoot, currentProxySettings());
  } catch {
    return undefined; // a bad proxy variable is reported where it is read
  }
}

/** node-fetch says "request to <url> failed, reason: <why>": the why, without any credentials. */
function reasonOf(error: ErrorLike): string {
  const message = String(error.message ?? error);
  const reason = /, reason: (.*)$/s.exec(message)?.[1] ?? message;
  return redactSecrets(reason.split('\n')[0].replace(/\/\/\S*@/g, '//')).trim();
}

function isNetworkError(error: ErrorLike): boolean {
  if (NETWORK_CODES.has(String(error.code)) || NETWORK_CODES.has(String(error.errno))) return true;
  if (error.name === 'FetchError' && error.type === 'system') return true; // includes SOCKS failures
  return /socket hang up|socks|proxy|tunnel/i.test(String(error.message ?? ''));
}

/**
 * Maps an error from getMe to an OperatorError with the remedy, or returns it unchanged.
 * `proxy` is the proxy used for `apiRoot` (default: the one the proxy variables name).
 */
export function telegramStartupError(error: unknown, apiRoot: string = TELEGRAM_API_ROOT, proxy: Proxy | undefined = proxyForSafely(apiRoot)): unknown {
  if (!error || typeof error !== 'object') return error;
  const e = error as ErrorLike;
  const status = e.response?.error_code ?? (typeof e.code === 'number' ? e.code : undefined);
  if (status === 401) {
    return new OperatorError('TELEGRAM_BOT_TOKEN was rejected by Telegram (401 Unauthorized): copy the token again from @BotFather (/mybots → API Token)');
  }
  const root = new URL(apiRoot);
  const server = root.origin === TELEGRAM_API_ROOT ? `Telegram (${root.host})` : `Telegram (${root.host}, from TELEGRAM_API_ROOT)`;
  const proxyVariable = root.protocol === 'http:' ? 'HTTP_PROXY' : 'HTTPS_PROXY';
  if (/CERT|SSL|TLS/.test(String(e.code))) {
    // A company proxy that inspects HTTPS signs with its own CA, which Node does not trust.
    return new OperatorError(
      `The HTTPS certificate presented for ${root.host} is not trusted (${reasonOf(e)}). If a company proxy inspects HTTPS, start with NODE_EXTRA_CA_CERTS=/path/to/its-ca.pem.`,
    );
  }
  if (e.name === 'FetchError' && e.type === 'invalid-json') {
    // Not the Bot API: a proxy's login or block page, a captive portal, a wrong API root. (The
    // message is not quoted: node-fetch puts the URL with the token in it.)
    const who = proxy ? `the proxy ${proxy.address} (${proxy.variable}) answered instead of ${server}` : `${server} did not answer like the Bot API`;
    const fix = proxy ? `If the proxy needs a login, put user:password@ in ${proxy.variable}; check that it allows ${root.host}` : 'Check TELEGRAM_API_ROOT and the network (a captive portal?)';
    return new OperatorError(`Telegram is unreachable: ${who} (the reply was not JSON). ${fix}.`);
  }
  if (proxy) {
    // A proxy that cannot reach the target answers 502/503/504 itself.
    const proxyAnswered = status === 502 || status === 503 || status === 504;
    if (isNetworkError(e) || proxyAnswered) {
      return new OperatorError(
        `${server} is unreachable through the proxy ${proxy.address} (${proxy.variable}=${proxy.display}): the proxy refused the connection or could not reach ${root.host} (${reasonOf(e)}). Check that the proxy is running and reaches ${root.host}, fix ${proxy.variable} (http://host:port or socks5://host:port), or set TELEGRAM_API_ROOT.`,
        'NETWORK_UNREACHABLE',
      );
    }
    return error;
  }
  if (isNetworkError(e) && /^(localhost|127\.|\[::1\])/.test(root.host)) {
    return new OperatorError(`${server} is not answering (${reasonOf(e)}): is the Bot API server there running? Start it, or fix TELEGRAM_API_ROOT.`, 'NETWORK_UNREACHABLE');
  }
  if (isNetworkError(e)) {
    return new OperatorError(
      `${server} is unreachable from this machine (${reasonOf(e)}). Set ${proxyVariable} to a proxy that reaches it (http://host:port or socks5://host:port), or TELEGRAM_API_ROOT to a Bot API server this machine can reach.`,
      'NETWORK_UNREACHABLE',
    );
  }
  return error;
}

/** Why webhook mode could not start: the port is taken, Telegram refused the URL, or Telegram
 * is unreachable (as for getMe). */
export function webhookStartError(error: unknown, port: number, webhookUrl: string, apiRoot?: string): unknown {
  const e = error as ErrorLike & { syscall?: string };
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    const why = e.code === 'EADDRINUSE' ? 'is already in use by another process' : 'needs privileges this user lacks (ports below 1024)';
    return new OperatorError(`PORT=${port} ${why}: stop that process or set PORT to a free port above 1023, and point the reverse proxy at it.`);
  }
  const description = e?.response?.description;
  if (description && e.response?.error_code === 400) {
    return new OperatorError(`Telegram refused WEBHOOK_URL=${webhookUrl} (${description}): it must be a public https URL on port 443, 80, 88 or 8443 that reaches this bot through the reverse proxy.`);
  }
  return telegramStartupError(error, apiRoot);
}
