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
  });
  return {
    name: `${settings.model} @ ${settings.baseUrl}`,
    async complete(messages, onText) {
      const input = messages.map((m) => (m.role === 'system' ? new SystemMessage(m.content) : m.role === 'user' ? new HumanMessage(m.content) : new AIMessage(m.content)));
      if (!onText) return textOf((await model.invoke(input)).content);
      // `timeout` bounds the request until its first byte; a stream that stalls later is bounded here.
      let text = '';
      for await (const chunk of await model.stream(input, { signal: AbortSignal.timeout(settings.timeoutMs) })) {
        const piece = textOf(chunk.content);
        if (!piece) continue;
        text += piece;
        onText(text);
      }
      return text;
    },
  };
}

type Content = Awaited<ReturnType<ChatOpenAI['invoke']>>['content'];

function textOf(content: Content): string {
  return typeof content === 'string' ? content : content.map((part) => ('text' in part ? part.text : '')).join('');
}
