import { Composer, type Context } from 'telegraf';
import type { BotState } from '../context.ts';
import { escapeHtml } from '../render.ts';
import { sendText } from '../send.ts';
import { threadOf } from './ask.ts';

/** Three example questions made from the corpus itself: the first headline of three pages. */
export function exampleQuestions(headlines: string[]): string[] {
  return headlines.map((headline) => `“${headline.replace(/[“”]/g, '')}”是怎么回事？`);
}

export async function helpHtml(state: BotState, username?: string): Promise<string> {
  const counts = await state.index.status();
  const examples = exampleQuestions(counts.sampleHeadlines).map((q) => `• ${escapeHtml(q)}`);
  const at = username ? `@${escapeHtml(username)}` : '我';
  return [
    '你好！我是新闻问答机器人：回答关于已收录新闻报道的问题，并注明每句话出自哪篇报道。',
    `目前收录 <b>${counts.pages}</b> 个版面、<b>${counts.articles}</b> 篇报道。`,
    '',
    '可以这样问：',
    ...examples,
    '',
    `私聊时直接发送问题即可，追问会沿用上一轮的话题。在群组中，请 ${at} 提问、回复我的消息，或发送 /ask 加问题。`,
    '回答下方的“查看原文”按钮会列出引用的原文段落。/new 开始新话题。',
  ].join('\n');
}

export function helpComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();
  composer.command(['start', 'help'], async (ctx) => {
    void sendText(state.outbox, ctx.chat.id, await helpHtml(state, ctx.botInfo?.username), { html: true, threadId: threadOf(ctx.message) }, `/${ctx.command}`);
  });
  return composer;
}
