// Outgoing proxies from the standard variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, in
// upper or lower case, from the environment or .env): a global undici dispatcher for Node's fetch
// (the LLM and embeddings clients, model downloads, uploaded pages) and an http.Agent for Telegraf,
// which uses node-fetch. http(s):// proxies and socks5(h):// / socks4(a):// proxies are supported.
import { existsSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import dotenv from 'dotenv';
import { socksDispatcher } from 'fetch-socks';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { Dispatcher, ProxyAgent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { ConfigError } from '../config.ts';
import type { Logger } from '../log.ts';

export interface Proxy {
  /** The variable it came from, e.g. HTTPS_PROXY or all_proxy. */
  variable: string;
  url: URL;
  kind: 'http' | 'socks';
  /** scheme://host:port, without credentials: safe for logs and messages. */
  display: string;
  /** host:port, without credentials. */
  address: string;
}

export interface ProxySettings {
  /** For https:// targets: HTTPS_PROXY, else ALL_PROXY, else HTTP_PROXY. */
  https?: Proxy;
  /** For http:// targets: HTTP_PROXY, else ALL_PROXY. */
  http?: Proxy;
  /** NO_PROXY entries as written (`*` turns the proxy off). */
  noProxy: string[];
}

const SCHEMES = ['http:', 'https:', 'socks:', 'socks5:', 'socks5h:', 'socks4:', 'socks4a:'];
const FIX = 'use http://host:port or socks5://host:port (user:password@host:port for a proxy that needs a login), or leave it empty for no proxy';

/** Environment variables first, then .env in `dotenvDir` (like loadConfig), for the proxy variables only. */
function proxyEnvironment(env: NodeJS.ProcessEnv, dotenvDir: string | false): NodeJS.ProcessEnv {
  if (dotenvDir === false) return env;
  const file = path.join(dotenvDir, '.env');
  if (!existsSync(file)) return env;
  const parsed = dotenv.config({ path: file, processEnv: {} }).parsed ?? {};
  const merged = { ...env };
  for (const [key, value] of Object.entries(parsed)) if (/^(https?|all|no)_proxy$/i.test(key) && merged[key] === undefined) merged[key] = value;
  return merged;
}

/** Lower case first (what curl and most tools read), then upper case; empty values count as unset. */
function variable(env: NodeJS.ProcessEnv, name: string): { name: string; value: string } | undefined {
  for (const key of [name.toLowerCase(), name.toUpperCase()]) {
    const value = env[key]?.trim();
    if (value) return { name: key, value };
  }
  return undefined;
}

/** Hides a password in a value that could not be parsed (it is quoted in the message). */
export const redact = (value: string) => value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^\s]*@/i, '$1***@');

function parseProxy(name: string, raw: string): Proxy {
  // curl and Go take host:port without a scheme as an http proxy; so do we.
  const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}=${redact(raw)} is not a valid proxy URL: ${FIX}.`);
  }
  if (!SCHEMES.includes(url.protocol)) {
    throw new ConfigError(`${name}=${redact(raw)} has an unsupported scheme ${url.protocol.slice(0, -1)}: ${FIX} (also https://, socks5h://, socks4://).`);
  }
  if (!url.hostname) throw new ConfigError(`${name}=${redact(raw)} names no proxy host: ${FIX}.`);
  if (url.pathname !== '/' && url.pathname !== '') throw new ConfigError(`${name}=${redact(raw)} has a path (${url.pathname}); a proxy URL is only scheme://host:port: ${FIX}.`);
  const kind = url.protocol.startsWith('socks') ? 'socks' : 'http';
  const port = url.port || (kind === 'socks' ? '1080' : url.protocol === 'https:' ? '443' : '80');
  const address = `${url.hostname}:${port}`;
  return { variable: name, url, kind, address, display: `${url.protocol}//${address}` };
}

/** Reads and validates the proxy variables; throws ConfigError naming the variable and the fix. */
export function readProxySettings(env: NodeJS.ProcessEnv = process.env, dotenvDir: string | false = process.cwd()): ProxySettings {
  const vars = proxyEnvironment(env, dotenvDir);
  const parsed = (name: string) => {
    const found = variable(vars, name);
    return found ? parseProxy(found.name, found.value) : undefined;
  };
  const httpsProxy = parsed('HTTPS_PROXY');
  const allProxy = parsed('ALL_PROXY');
  const httpProxy = parsed('HTTP_PROXY');
  const noProxy = (variable(vars, 'NO_PROXY')?.value ?? '')
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  return { https: httpsProxy ?? allProxy ?? httpProxy, http: httpProxy ?? allProxy, noProxy };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function ipFamily(host: string): 'ipv4' | 'ipv6' | undefined {
  const version = isIP(host);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/** Loopback (localhost, 127.0.0.0/8, ::1) never goes through a proxy: a local Ollama, vLLM or
 * self-hosted Bot API server stays local, as in Go. NO_PROXY: `*`, host names (a suffix match:
 * `example.com` and `.example.com` cover sub.example.com), `host:port`, IP addresses and CIDR blocks. */
export function bypassesProxy(target: URL, noProxy: string[]): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const family = ipFamily(host);
  if (host === 'localhost' || host.endsWith('.localhost') || (family && LOOPBACK.check(host, family))) return true;
  return noProxy.some((entry) => {
    if (entry === '*') return true;
    let pattern = entry;
    const withPort = /^(.*[^:]):(\d+)$/.exec(entry);
    if (withPort && !isIP(entry)) {
      if (withPort[2] !== port) return false;
      pattern = withPort[1];
    }
    pattern = pattern.replace(/^\[|\]$/g, '');
    const cidr = /^(.+)\/(\d{1,3})$/.exec(pattern);
    if (cidr && ipFamily(cidr[1]) && family) {
      const list = new BlockList();
      try {
        list.addSubnet(cidr[1], Number(cidr[2]), ipFamily(cidr[1]));
      } catch {
        return false;
      }
      return list.check(host, family);
    }
    if (ipFamily(pattern)) return family !== undefined && pattern === host;
    const domain = pattern.replace(/^\*?\./, '');
    return host === domain || host.endsWith(`.${domain}`);
  });
}

/** The proxy for a URL, or undefined when it is reached directly. */
export function proxyFor(target: string | URL, settings: ProxySettings): Proxy | undefined {
  const url = typeof target === 'string' ? new URL(target) : target;
  const proxy = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (!proxy || bypassesProxy(url, settings.noProxy)) return undefined;
  return proxy;
}

/** The SOCKS proxy resolves host names (socks5h, socks4a), whatever the URL says: local DNS is
 * where Telegram is often blocked or poisoned, and the proxy may be the only way to resolve. */
function remoteDnsSocksUrl(url: URL): URL {
  const copy = new URL(url.href);
  if (copy.protocol === 'socks5:' || copy.protocol === 'socks:') copy.protocol = 'socks5h:';
  if (copy.protocol === 'socks4:') copy.protocol = 'socks4a:';
  return copy;
}

function undiciDispatcher(proxy: Proxy): Dispatcher {
  if (proxy.kind === 'http') {
    // Plain http targets are sent as absolute-URI requests (what proxies allow on any port);
    // https targets through a CONNECT tunnel.
    return new ProxyAgent({ uri: proxy.url.href, proxyTunnel: false });
  }
  const { hostname, username, password } = proxy.url;
  return socksDispatcher({
    type: proxy.url.protocol.startsWith('socks4') ? 4 : 5,
    host: hostname.replace(/^\[|\]$/g, ''),
    port: Number(proxy.address.slice(proxy.address.lastIndexOf(':') + 1)),
    ...(username ? { userId: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  });
}

/** Sends each request to the dispatcher its origin calls for: a proxy, or the direct one. */
class ProxyRouter extends Dispatcher {
  private readonly proxies = new Map<Proxy, Dispatcher>();

  constructor(
    private readonly settings: ProxySettings,
    private readonly direct: Dispatcher,
  ) {
    super();
  }

  private pick(origin: string | URL | undefined): Dispatcher {
    const proxy = origin ? proxyFor(origin, this.settings) : undefined;
    if (!proxy) return this.direct;
    let dispatcher = this.proxies.get(proxy);
    if (!dispatcher) this.proxies.set(proxy, (dispatcher = undiciDispatcher(proxy)));
    return dispatcher;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    return this.pick(options.origin).dispatch(options, handler);
  }

  // The direct dispatcher was the global one before us: it is handed back open on uninstall.
  close(): Promise<void>;
  close(callback: () => void): void;
  close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([...this.proxies.values()].map((d) => d.close())).then(() => {});
    if (callback) void done.then(callback, callback);
    else return done;
  }

  destroy(): Promise<void>;
  destroy(error: Error | null): Promise<void>;
  destroy(callback: () => void): void;
  destroy(error: Error | null, callback: () => void): void;
  destroy(errorOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const error = typeof errorOrCallback === 'function' ? null : (errorOrCallback ?? null);
    const cb = typeof errorOrCallback === 'function' ? errorOrCallback : callback;
    const done = Promise.all([...this.proxies.values()].map((d) => d.destroy(error))).then(() => {});
    if (cb) void done.then(cb, cb);
    else return done;
  }
}

let installed: { key: string; settings: ProxySettings; router?: ProxyRouter; previous?: Dispatcher } | undefined;

const settingsKey = (s: ProxySettings) => JSON.stringify([s.https?.url.href, s.https?.variable, s.http?.url.href, s.http?.variable, s.noProxy]);

/** What goes where, without credentials: one log line. */
export function describeProxySettings(settings: ProxySettings): string {
  const line = (proxy: Proxy | undefined) => (proxy ? `${proxy.display} (${proxy.variable})` : 'direct');
  const bypass = ['localhost', '127.0.0.0/8', '::1', ...settings.noProxy].join(', ');
  return `Proxy: https:// requests (Telegram, LLM, embeddings, model download) go ${settings.https ? 'through ' : ''}${line(settings.https)}; http:// requests go ${settings.http ? 'through ' : ''}${line(settings.http)}; not proxied: ${bypass}`;
}

export interface InstallProxyOptions {
  env?: NodeJS.ProcessEnv;
  /** Read .env from here for the proxy variables the environment lacks (default: the working directory). */
  dotenvDir?: string | false;
  logger?: Logger;
}

/**
 * Reads the proxy variables and, when a proxy is set, routes Node's fetch through it (a global
 * undici dispatcher). Idempotent: calling it again with the same settings does nothing; with other
 * settings it replaces the previous router. Throws ConfigError for a bad proxy URL.
 */
export function installProxy({ env = process.env, dotenvDir = process.cwd(), logger }: InstallProxyOptions = {}): ProxySettings {
  const settings = readProxySettings(env, dotenvDir);
  const key = settingsKey(settings);
  if (installed?.key === key) return installed.settings;
  uninstallProxy();
  if (!settings.https && !settings.http) {
    installed = { key, settings };
    return settings;
  }
  const previous = getGlobalDispatcher();
  const router = new ProxyRouter(settings, previous);
  setGlobalDispatcher(router);
  installed = { key, settings, router, previous };
  logger?.info(describeProxySettings(settings));
  return settings;
}

/** Puts the dispatcher from before installProxy back (tests); the next installProxy starts afresh. */
export function uninstallProxy(): void {
  if (installed?.router && installed.previous) {
    if (getGlobalDispatcher() === installed.router) setGlobalDispatcher(installed.previous);
    void installed.router.close().catch(() => {});
  }
  installed = undefined;
}

/** The settings installProxy read, or the variables now (for callers that did not install). */
export function currentProxySettings(): ProxySettings {
  return installed?.settings ?? readProxySettings();
}

/** An http.Agent for Telegraf (node-fetch) to reach `apiRoot`, or undefined to go direct. */
export function telegramAgent(apiRoot: string, settings: ProxySettings = currentProxySettings()): HttpAgent | undefined {
  const target = new URL(apiRoot);
  const proxy = proxyFor(target, settings);
  if (!proxy) return undefined;
  // Telegraf's own agent keeps connections alive for long polling; so do these.
  const options = { keepAlive: true, keepAliveMsecs: 10_000 };
  if (proxy.kind === 'socks') return new SocksProxyAgent(remoteDnsSocksUrl(proxy.url), options);
  return target.protocol === 'https:' ? new HttpsProxyAgent(proxy.url, options) : new HttpProxyAgent(proxy.url, options);
}
