import { Composer, type Context } from 'telegraf';
import type { BotState } from '../context.ts';
import { escapeHtml } from '../render.ts';
import { sendText } from '../send.ts';
import { threadOf } from './ask.ts';

/** Three example questions made from the corpus itself: the first headline of three pages. */
export function exampleQuestions(headlines: string[]): string[] {
  return headlines.map((headline) => `“${headline.replace(/[“”]/g, '')}”是怎么回事？`);
}

const EXAMPLE = '上海今年建成了多少间职工休息室？';

/** What /start and /help say: in a group, how to address the bot there (privacy mode shows it
 * only mentions, replies and commands); in a private chat, just ask. */
export async function helpHtml(state: BotState, username?: string, inGroup = false): Promise<string> {
  const counts = await state.index.status();
  const examples = exampleQuestions(counts.sampleHeadlines).map((q) => `• ${escapeHtml(q)}`);
  const at = username ? `@${escapeHtml(username)}` : '@我';
  const how = inGroup
    ? ['在群里，我只回答这三种消息：', `• ${at} 加问题，例如：${at} ${escapeHtml(EXAMPLE)}`, '• 回复我的回答，接着追问', `• /ask 加问题，例如：/ask ${escapeHtml(EXAMPLE)}`, '群里其他的消息我不会回复。']
    : ['私聊时直接发送问题即可，追问会沿用上一轮的话题；/new 开始新话题。', `在群组中，请 ${at} 提问、回复我的消息，或发送 /ask 加问题。`];
  return [
    '你好！我是新闻问答机器人：回答关于已收录新闻报道的问题，并注明每句话出自哪篇报道。',
    `目前收录 <b>${counts.pages}</b> 个版面、<b>${counts.articles}</b> 篇报道。`,
    '',
    '可以这样问：',
    ...examples,
    '',
    ...how,
    '回答下方的“查看原文”按钮会列出引用的原文段落；👍 / 👎 可以评价回答，帮助改进。',
    ...(inGroup ? [] : [`在任何聊天的输入框里键入 ${at} 加问题，可以选一条回答或报道直接发到那里。`]),
  ].join('\n');
}

export function helpComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();
  composer.command(['start', 'help'], async (ctx) => {
    const inGroup = ctx.chat.type === 'group' || ctx.chat.type === 'supergroup';
    const html = await helpHtml(state, ctx.botInfo?.username, inGroup);
    void sendText(state.outbox, ctx.chat.id, html, { html: true, threadId: threadOf(ctx.message) }, `/${ctx.command}`);
  });
  return composer;
}
