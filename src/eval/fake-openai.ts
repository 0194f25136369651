// A small OpenAI-compatible server on 127.0.0.1: each chat request takes the next scripted reply
// (or `whenIdle`), and every request is kept in `requests`. The real LangChain client talks to it
// over HTTP; a request with `stream: true` gets the reply as server-sent events, a few characters
// an event (`chunkDelayMs` apart), and a reply may break off mid-stream (`failAfterChars`). The
// tests script it (test/helpers/fake-openai.ts re-exports this file); the answer evaluation runs
// it as a recorder of what an LLM would be sent (src/eval/context.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | { content: string; delayMs?: number; chunkDelayMs?: number; failAfterChars?: number }
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | ((request: ChatRequest) => Reply);

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  stream?: boolean;
}

export interface FakeOpenAI {
  baseUrl: string;
  requests: ChatRequest[];
  embeddingRequests: { input: string | string[]; model: string }[];
  script(...replies: Reply[]): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/** `whenIdle` answers requests when no scripted reply is queued (default: an error). */
export async function startFakeOpenAI(whenIdle?: Reply): Promise<FakeOpenAI> {
  const queue: Reply[] = [];
  const requests: ChatRequest[] = [];
  const embeddingRequests: { input: string | string[]; model: string }[] = [];
  const server: Server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url?.endsWith('/embeddings')) {
      const body = JSON.parse(await readBody(req)) as { input: string | string[]; model: string; encoding_format?: string };
      embeddingRequests.push(body);
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const data = inputs.map((text, index) => {
        const vector = characterVector(text);
        const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
      return;
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    const request = JSON.parse(await readBody(req)) as ChatRequest;
    requests.push(request);
    const next = queue.shift() ?? whenIdle ?? { status: 500, body: { error: { message: 'no scripted reply left' } } };
    const reply = typeof next === 'function' ? next(request) : next;
    if (typeof reply === 'function') throw new Error('a scripted reply function must return a reply');
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    if ('content' in reply && request.stream) return void streamReply(res, request, reply, requests.length);
    if ('content' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify(reply.body ?? { error: { message: `status ${reply.status}` } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    embeddingRequests,
    script: (...replies) => queue.push(...replies),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The reply as OpenAI streams it: chat.completion.chunk events of a few characters, a final
 * event with finish_reason, then [DONE]. `failAfterChars` ends the response early, with no
 * [DONE], as a dropped connection does. */
async function streamReply(res: ServerResponse, request: ChatRequest, reply: { content: string; chunkDelayMs?: number; failAfterChars?: number }, n: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const event = (delta: Record<string, string>, finish: string | null) =>
    `data: ${JSON.stringify({ id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const characters = [...reply.content];
  res.write(event({ role: 'assistant', content: '' }, null));
  for (let i = 0; i < characters.length; i += STREAM_CHARS) {
    if (reply.failAfterChars !== undefined && i >= reply.failAfterChars) return void res.destroy();
    if (reply.chunkDelayMs) await new Promise((r) => setTimeout(r, reply.chunkDelayMs));
    if (res.destroyed) return;
    res.write(event({ content: characters.slice(i, i + STREAM_CHARS).join('') }, null));
  }
  res.end(`${event({}, 'stop')}data: [DONE]\n\n`);
}

/** Characters per streamed event: about a token of Chinese text or two. */
const STREAM_CHARS = 3;

/** A deterministic 64-dimensional bag-of-characters vector: texts sharing characters are near. */
export function characterVector(text: string): number[] {
  const vector = new Array(64).fill(0);
  for (const ch of text) vector[ch.codePointAt(0)! % 64] += 1;
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}
