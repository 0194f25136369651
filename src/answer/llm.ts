// The LLM edge: any OpenAI-compatible chat endpoint (DeepSeek, Qwen, Moonshot, OpenAI, vLLM,
// Ollama's /v1) through LangChain's ChatOpenAI, with a timeout and retries on 429 and 5xx.
import { AIMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import type { Config } from '../config.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Called with the whole text so far as a streamed reply grows. */
export type OnText = (textSoFar: string) => void;

/** What the answer pipeline needs from a chat model; tests and other providers plug in here.
 * Given `onText`, the reply is streamed (and reported as it grows); the result is the same. */
export interface ChatModel {
  readonly name: string;
  complete(messages: ChatMessage[], onText?: OnText): Promise<string>;
}

export function createChatModel(settings: NonNullable<Config['llm']>): ChatModel {
  const model = new ChatOpenAI({
    model: settings.model,
    apiKey: settings.apiKey,
    configuration: { baseURL: settings.baseUrl },
    temperature: 0.2,
    timeout: settings.timeoutMs,
    // LangChain retries failed calls with backoff; it does not retry 4xx other than 429.
    maxRetries: settings.maxRetries,
    // No stream_options in the request: some OpenAI-compatible servers refuse fields they do not know.
    streamUsage: false,
  });
  return {
    name: `${settings.model} @ ${settings.baseUrl}`,
    async complete(messages, onText) {
      const input = messages.map((m) => (m.role === 'system' ? new SystemMessage(m.content) : m.role === 'user' ? new HumanMessage(m.content) : new AIMessage(m.content)));
      if (!onText) return textOf((await model.invoke(input)).content);
      // `timeout` bounds the request until its first byte; a stream is also given up when it
      // stalls that long between chunks, or runs past STREAM_CAP times it in all (a long answer
      // streams for longer than one request may take, so the timeout alone would cut it off).
      const controller = new AbortController();
      const cap = setTimeout(() => controller.abort(new Error(`the streamed answer took over ${(STREAM_CAP * settings.timeoutMs) / 1000} s`)), STREAM_CAP * settings.timeoutMs);
      let idle = setTimeout(() => {}, 0);
      const stalled = () => controller.abort(new Error(`the stream stalled for ${settings.timeoutMs / 1000} s`));
      let text = '';
      try {
        for await (const chunk of await model.stream(input, { signal: controller.signal })) {
          clearTimeout(idle);
          idle = setTimeout(stalled, settings.timeoutMs);
          const piece = textOf(chunk.content);
          if (!piece) continue;
          text += piece;
          onText(text);
        }
      } finally {
        clearTimeout(idle);
        clearTimeout(cap);
      }
      return text;
    },
  };
}

/** A streamed answer may take this many times LLM_TIMEOUT_MS in all, if it never stalls. */
const STREAM_CAP = 4;

type Content = Awaited<ReturnType<ChatOpenAI['invoke']>>['content'];

function textOf(content: Content): string {
  return typeof content === 'string' ? content : content.map((part) => ('text' in part ? part.text : '')).join('');
}
