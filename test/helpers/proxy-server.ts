// Proxies on 127.0.0.1 for tests: an HTTP proxy (absolute-URI requests and CONNECT) and a SOCKS5
// proxy (no auth, CONNECT only). Both record what they forwarded, including the HTTP request
// lines they see inside plain-text tunnels, and can resolve made-up host names (`hosts`) that
// the machine itself cannot: a client that reaches such a host went through the proxy.
import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, createServer as createNetServer, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ProxiedRequest {
  /** `http`: an absolute-URI request; `connect`: a CONNECT or SOCKS tunnel; `tunnel`: an HTTP request line seen inside one. */
  kind: 'http' | 'connect' | 'tunnel';
  method: string;
  /** The absolute URI, host:port of a tunnel, or the path of a request in a tunnel. */
  target: string;
}

export interface TestProxy {
  /** http://127.0.0.1:port or socks5://127.0.0.1:port */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  /** The Bot API methods seen (…/bot<token>/<method>), in order. */
  telegramMethods(): string[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Host names only the proxy resolves, e.g. { 'telegram.test': '127.0.0.1' }. */
  hosts?: Record<string, string>;
}

const REQUEST_LINE = /(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]$/;

/** Records HTTP request lines passing through a tunnel (best effort; the tests use plain http). */
function sniff(socket: Socket, requests: ProxiedRequest[]): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('latin1')).split('\r\n');
    pending = lines.pop()!.slice(-4096);
    for (const line of lines) {
      const match = REQUEST_LINE.exec(line);
      if (match) requests.push({ kind: 'tunnel', method: match[1], target: match[2] });
    }
  });
}

function tracker() {
  const sockets = new Set<Socket>();
  return {
    add(socket: Socket) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      return socket;
    },
    destroyAll: () => sockets.forEach((s) => s.destroy()),
  };
}

function telegramMethods(requests: ProxiedRequest[]) {
  return () => requests.flatMap((r) => /\/bot[^/]+\/(\w+)/.exec(r.target)?.[1] ?? []);
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Joins two sockets; when either ends or fails, both are closed. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', close);
    s.on('close', close);
  }
}

export async function startHttpProxy({ hosts = {} }: ProxyOptions = {}): Promise<TestProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = tracker();
  const server = createHttpServer((req, res) => {
    requests.push({ kind: 'http', method: req.method ?? 'GET', target: req.url ?? '' });
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      res.writeHead(400).end('absolute http URI expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      { host: hosts[target.hostname] ?? target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers, agent: false },
      (response: IncomingMessage) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('socket', (s) => sockets.add(s));
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(upstream);
  });
  server.on('connection', (socket) => sockets.add(socket));
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    requests.push({ kind: 'connect', method: 'CONNECT', target });
    const separator = target.lastIndexOf(':');
    const host = target.slice(0, separator).replace(/^\[|\]$/g, '');
    const upstream = sockets.add(connect(Number(target.slice(separator + 1)), hosts[host] ?? host));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      sniff(client, requests);
      splice(client, upstream);
    });
    upstream.once('error', () => {
      if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    telegramMethods: telegramMethods(requests),
    close: async () => {
      sockets.destroyAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads exactly n bytes from a paused socket. */
async function read(socket: Socket, n: number): Promise<Buffer> {
  for (;;) {
    const chunk = socket.read(n) as Buffer | null;
    if (chunk) return chunk;
    if (socket.readableEnded || socket.destroyed) throw new Error('client went away');
    await Promise.race([once(socket, 'readable'), once(socket, 'close')]);
  }
}

export async function startSocksProxy({ hosts = {} }: ProxyOptions = {}): Promise<TestProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = tracker();
  const reply = (code: number) => Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
  const handle = async (client: Socket) => {
    const [version, methodCount] = await read(client, 2);
    if (version !== 0x05) return client.destroy();
    const methods = await read(client, methodCount);
    if (!methods.includes(0x00)) return client.end(Buffer.from([0x05, 0xff]));
    client.write(Buffer.from([0x05, 0x00]));
    const [, command, , addressType] = await read(client, 4);
    let host: string;
    if (addressType === 0x01) host = [...(await read(client, 4))].join('.');
    else if (addressType === 0x03) host = (await read(client, (await read(client, 1))[0])).toString('latin1');
    else if (addressType === 0x04) host = ((await read(client, 16)).toString('hex').match(/.{4}/g) ?? []).join(':');
    else return client.end(reply(0x08));
    const port = (await read(client, 2)).readUInt16BE(0);
    requests.push({ kind: 'connect', method: 'CONNECT', target: `${isIPv6(host) ? `[${host}]` : host}:${port}` });
    if (command !== 0x01) return client.end(reply(0x07));
    const upstream = sockets.add(connect(port, hosts[host] ?? host));
    upstream.once('connect', () => {
      client.write(reply(0x00));
      sniff(client, requests);
      splice(client, upstream);
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (!client.destroyed) client.end(reply(error.code === 'ECONNREFUSED' ? 0x05 : error.code === 'ENOTFOUND' ? 0x04 : 0x01));
    });
  };
  const server = createNetServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    handle(client).catch(() => client.destroy());
  });
  const port = await listen(server);
  return {
    url: `socks5://127.0.0.1:${port}`,
    port,
    requests,
    telegramMethods: telegramMethods(requests),
    close: async () => {
      sockets.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
