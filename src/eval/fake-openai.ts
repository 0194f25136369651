// A small OpenAI-compatible server on 127.0.0.1: each chat request takes the next scripted reply
// (or `whenIdle`), and every request is kept in `requests`. The real LangChain client talks to it
// over HTTP. The tests script it (test/helpers/fake-openai.ts re-exports this file); the answer
// evaluation runs it as a recorder of what an LLM would be sent (src/eval/context.ts).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | { content: string; delayMs?: number }
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | ((request: ChatRequest) => Reply);

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
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

/** A deterministic 64-dimensional bag-of-characters vector: texts sharing characters are near. */
export function characterVector(text: string): number[] {
  const vector = new Array(64).fill(0);
  for (const ch of text) vector[ch.codePointAt(0)! % 64] += 1;
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}
