// The results of an inline query (`@bot 问题` in any chat): the answer first, then the articles
// it cites, each a message the user can post. Pure functions, so that what gets posted is tested
// without Telegram. Every posted text is Telegram HTML built with render.ts's escaping.
import type { InlineQueryResultArticle } from 'telegraf/types';
import { answerText } from '../answer/present.ts';
import type { Answer, Citation } from '../answer/types.ts';
import { escapeHtml, renderAnswer, splitMessage, TELEGRAM_MESSAGE_LIMIT } from './render.ts';

/** Telegram's caps on a result's title and description are not documented; clients cut long ones,
 * so keep them to what a result row shows. */
const TITLE_CHARS = 60;
const DESCRIPTION_CHARS = 100;
/** Room the 来源 list may take in the posted answer, so that the answer itself keeps most of it. */
const SOURCES_BUDGET = 1500;
const ARTICLE_RESULTS = 10;

export const REFUSAL_TITLE = '没有找到相关报道';
export const TRUNCATED = '（回答较长，已截断；私聊机器人可查看全文。）';

/** One line of plain text, cut at a character (not inside a surrogate pair) with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const chars = [...text.replace(/\[\d{1,4}\]/g, '').replace(/\s+/g, ' ').trim()];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

const headlineOf = (headline: string) => `《${oneLine(headline, 200) || '无标题'}》`;

function sourcesBlock(citations: Citation[]): string {
  const lines: string[] = [];
  let size = 0;
  for (const c of citations) {
    const entry = `[${c.n}] ${escapeHtml(headlineOf(c.headline))} · ${escapeHtml(oneLine(c.file, 200))}`;
    if (size + entry.length > SOURCES_BUDGET) break; // a cut list beats a cut answer
    lines.push(entry);
    size += entry.length + 1;
  }
  return lines.length ? `<b>来源</b>\n<blockquote expandable>${lines.join('\n')}</blockquote>` : '';
}

/**
 * The answer as one message of at most 4096 characters. Most answers render to one part as they
 * are; a longer one keeps its first part (cut where splitMessage cuts, so still valid HTML) and the
 * sources that part cites, since a posted inline result cannot be followed by more messages.
 */
export function inlineAnswerHtml(answer: Answer): string {
  const parts = renderAnswer(answer);
  if (parts.length <= 1) return parts[0] ?? '（没有生成回答。）';
  const body = renderAnswer({ ...answer, citations: [], suggestions: undefined })[0] ?? '';
  // The sources' tags and the truncation note take under 200 characters beyond the list's budget.
  const first = splitMessage(body, TELEGRAM_MESSAGE_LIMIT - SOURCES_BUDGET - 200)[0] ?? '';
  const cited = answer.citations.filter((c) => first.includes(`[${c.n}]`));
  return [first, `<i>${TRUNCATED}</i>`, sourcesBlock(cited)].filter(Boolean).join('\n\n');
}

function articleResult(index: number, headline: string, file: string, snippet: string): InlineQueryResultArticle {
  const text = [`<b>${escapeHtml(headlineOf(headline))}</b>`, snippet && escapeHtml(snippet), `<i>${escapeHtml(oneLine(file, 200))}</i>`].filter(Boolean).join('\n');
  return {
    type: 'article',
    id: `article:${index}`,
    title: oneLine(headlineOf(headline), TITLE_CHARS),
    description: snippet || oneLine(file, DESCRIPTION_CHARS),
    input_message_content: { message_text: text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } },
  };
}

/** The articles the answer cites, once each, in marker order. */
function citedArticles(answer: Answer): InlineQueryResultArticle[] {
  const seen = new Set<string>();
  const unique = answer.citations.filter((c) => !seen.has(c.articleId) && seen.add(c.articleId));
  return unique.slice(0, ARTICLE_RESULTS).map((c, i) => articleResult(i + 1, c.headline, c.file, oneLine(c.quote, DESCRIPTION_CHARS)));
}

/** What an inline query shows: the answer, then its articles; a refusal is one result naming the
 * closest headlines (they have no snippet to post, so they are not results of their own). */
export function inlineResults(question: string, answer: Answer): InlineQueryResultArticle[] {
  const message = { message_text: inlineAnswerHtml(answer), parse_mode: 'HTML' as const, link_preview_options: { is_disabled: true } };
  if (answer.refused) {
    const closest = (answer.suggestions ?? []).map((s) => headlineOf(s.headline)).join('、');
    const description = closest ? `相关报道：${closest}` : `已收录的报道中没有关于“${question}”的内容。`;
    return [{ type: 'article', id: 'refusal', title: REFUSAL_TITLE, description: oneLine(description, DESCRIPTION_CHARS), input_message_content: message }];
  }
  const answerResult: InlineQueryResultArticle = {
    type: 'article',
    id: 'answer',
    title: oneLine(`回答：${question}`, TITLE_CHARS),
    description: oneLine(answerText(answer), DESCRIPTION_CHARS),
    input_message_content: message,
  };
  return [answerResult, ...citedArticles(answer)];
}
