// The answer pipeline: question → follow-up rewriting → retrieval → answer (LLM or extractive)
// → citation check. Refuses plainly when the articles do not say.
import type { Article } from '../corpus/types.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import { GENERIC_NOUNS, namedEntities, nounsOf, tokenize } from '../index/keyword.ts';
import type { IndexSnapshot } from '../index/store.ts';
import type { Logger } from '../log.ts';
import { isMostlyLatin, type Passage, type Retriever, type SearchResult } from '../retrieve/search.ts';
import { checkCitations } from './cite.ts';
import { ExtractiveAnswerer } from './extractive.ts';
import { carryOverTerms, looksLikeFollowUp } from './followup.ts';
import type { ChatModel } from './llm.ts';
import { answerMessages, rewriteMessages } from './prompt.ts';
import type { Answer, Turn } from './types.ts';

/** Below this relevance nothing retrieved answers the question (calibrated with `npm run eval`:
 * unanswerable questions score under 0.29, answerable Chinese ones above 0.35). English
 * questions reach Chinese text through a weaker bridge, so their scores run lower. */
export const RELEVANCE_THRESHOLD = 0.3;
export const RELEVANCE_THRESHOLD_LATIN = 0.22;

export const LLM_FALLBACK_NOTICE = '（大模型暂时不可用，以下是根据原文摘录的回答。）';
const NOT_FOUND = /没有提到|未提及|没有相关|无法回答|没有报道|未报道|不能回答|没有找到/;

export interface AnswererOptions {
  retriever: Retriever;
  index: () => IndexSnapshot;
  embedder?: TextEmbedder;
  llm?: ChatModel;
  logger?: Logger;
  /** Longer questions are refused politely (MAX_QUESTION_CHARS). */
  maxQuestionChars?: number;
}

export class Answerer {
  private readonly extractive: ExtractiveAnswerer;

  constructor(private readonly options: AnswererOptions) {
    this.extractive = new ExtractiveAnswerer(options.embedder, options.logger);
  }

  get mode(): 'llm' | 'extractive' {
    return this.options.llm ? 'llm' : 'extractive';
  }

  async answer(question: string, history: Turn[] = []): Promise<Answer> {
    const started = performance.now();
    const limit = this.options.maxQuestionChars ?? 500;
    if (question.trim().length > limit) {
      return { text: `问题太长了（${question.trim().length} 字），请精简到 ${limit} 字以内再问。`, citations: [], refused: true, mode: this.mode, timings: { totalMs: 0, retrieveMs: 0, generateMs: 0 } };
    }
    if (!/[\p{L}\p{N}]/u.test(question)) {
      // 👍 or "？？" is not a question, and must not re-answer the previous one as a follow-up.
      return { text: '请用文字写下你的问题，例如：上海今年建成了多少间职工工间休息室？', citations: [], refused: true, mode: this.mode, timings: { totalMs: 0, retrieveMs: 0, generateMs: 0 } };
    }
    const snapshot = this.options.index();
    let searchQuestion = question.trim();
    let preferred: string[] = [];
    let rewritten: string | undefined;
    if (looksLikeFollowUp(searchQuestion, history)) {
      const previous = history[history.length - 1];
      // "那深圳盐田区呢？" asks the same about somewhere else: keep the question, not the article.
      preferred = namedEntities(searchQuestion).length ? [] : (previous.articleIds ?? []);
      rewritten = (await this.rewriteWithLlm(searchQuestion, history)) ?? carryOverTerms(searchQuestion, previous);
      searchQuestion = rewritten;
    }

    const retrieveStart = performance.now();
    const search = await this.options.retriever.search(searchQuestion, { k: 5 });
    const passages = preferFollowedArticles(search.results, preferred);
    const retrieveMs = performance.now() - retrieveStart;
    const latin = isMostlyLatin(question);
    const threshold = latin ? RELEVANCE_THRESHOLD_LATIN : RELEVANCE_THRESHOLD;
    // The model's English is weak, so an English question must also share a word with the
    // article (a name through its pinyin, an acronym): "What is the capital of France?" shares none.
    const relevant = passages.filter(
      (p) =>
        p.score >= threshold &&
        p.score >= (passages[0]?.score ?? 0) - 0.2 &&
        (latin ? sharesLatinWord(question, snapshot.articlesById.get(p.articleId)) : !offTopic(question, p, snapshot.articlesById.get(p.articleId))),
    );
    const timings = (generateStart: number) => ({
      totalMs: Math.round(performance.now() - started),
      retrieveMs: Math.round(retrieveMs),
      generateMs: Math.round(performance.now() - generateStart),
    });
    const base = { ...(rewritten ? { rewrittenQuestion: rewritten } : {}) };

    if (relevant.length === 0) {
      return { ...base, ...refusal(question, search), mode: this.mode, timings: timings(performance.now()) };
    }

    const generateStart = performance.now();
    const notices = search.notice ? [search.notice] : [];
    if (this.options.llm) {
      try {
        const llmAnswer = await this.answerWithLlm(searchQuestion, relevant.slice(0, 5));
        if (llmAnswer) {
          return { ...base, ...llmAnswer, mode: 'llm', ...(notices.length ? { notice: notices.join('') } : {}), timings: timings(generateStart) };
        }
        this.options.logger?.warn('LLM answer had no verifiable citation: answering extractively instead');
      } catch (error) {
        this.options.logger?.warn(`LLM call failed, answering extractively: ${(error as Error).message.split('\n')[0]}`);
      }
      notices.push(LLM_FALLBACK_NOTICE);
    }
    const articles = relevant.slice(0, 3).map((p) => snapshot.articlesById.get(p.articleId)).filter((a): a is Article => a !== undefined);
    const composed = await this.extractive.compose(searchQuestion, articles, snapshot.keyword);
    if (!composed.text) return { ...base, ...refusal(question, search), mode: 'extractive', timings: timings(generateStart) };
    return {
      ...base,
      text: composed.text,
      citations: composed.citations,
      refused: false,
      mode: 'extractive',
      ...(notices.length ? { notice: notices.join('') } : {}),
      timings: timings(generateStart),
    };
  }

  private async answerWithLlm(question: string, passages: Passage[]): Promise<Omit<Answer, 'mode' | 'timings'> | undefined> {
    const raw = await this.options.llm!.complete(answerMessages(question, passages));
    const checked = checkCitations(raw, passages);
    if (checked.citations.length === 0) {
      // A plain "the articles do not say" is an honest answer; anything else uncited is not.
      if (NOT_FOUND.test(checked.text) && checked.removedClaims.length === 0) {
        return { text: checked.text, citations: [], refused: true, suggestions: passages.slice(0, 3).map(({ headline, file }) => ({ headline, file })) };
      }
      return undefined;
    }
    const answer: Omit<Answer, 'mode' | 'timings'> = { text: checked.text, citations: checked.citations, refused: false };
    if (checked.removedClaims.length) {
      answer.removedClaims = checked.removedClaims;
      answer.text += `\n（已删除${checked.removedClaims.length}处无法在原文中核实的内容。）`;
    }
    return answer;
  }

  private async rewriteWithLlm(question: string, history: Turn[]): Promise<string | undefined> {
    if (!this.options.llm) return undefined;
    try {
      const rewritten = (await this.options.llm.complete(rewriteMessages(question, history))).trim().split('\n')[0];
      return rewritten && rewritten.length <= 200 ? rewritten : undefined;
    } catch (error) {
      this.options.logger?.warn(`LLM rewrite failed, carrying the previous turn's terms over: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }
}

function refusal(question: string, search: SearchResult): Pick<Answer, 'text' | 'citations' | 'refused' | 'suggestions' | 'notice'> {
  const suggestions = search.results.slice(0, 3).map(({ headline, file }) => ({ headline, file }));
  // Missing only if no result mentions it: one article's silence proves nothing.
  const missing = search.results.length ? search.results[0].missingEntities.filter((e) => search.results.every((r) => r.missingEntities.includes(e))) : [];
  const topic = question.trim().replace(/[？?。！!]+$/, '').slice(0, 40);
  const lines = [`未在已收录的报道中找到“${topic}”的答案。`];
  if (missing.length) lines.push(`已收录的报道没有提到${missing.map((m) => `“${m}”`).join('、')}。`);
  if (suggestions.length) lines.push(`相近的报道：${suggestions.map((s) => `《${s.headline}》`).join('、')}`);
  return { text: lines.join('\n'), citations: [], refused: true, suggestions, ...(search.notice ? { notice: search.notice } : {}) };
}

/** A follow-up stays on the article the previous answer cited, when retrieval still finds it. */
function preferFollowedArticles(results: Passage[], preferred: string[]): Passage[] {
  if (preferred.length === 0) return results;
  const followed = results.filter((r) => preferred.includes(r.articleId));
  if (followed.length === 0) return results;
  const lift = results[0].score;
  return [...followed.map((r) => ({ ...r, score: Math.max(r.score, lift) })), ...results.filter((r) => !preferred.includes(r.articleId))];
}

const ENGLISH_STOP = new Set('the and for are was were who what when where which how many much does did has have with from that this into its their they them about than then there these those will would could should won'.split(' '));

/** An English question must share a word with the article: a name through its pinyin, an
 * acronym. Numbers do not count: "2022" is in many articles. */
function sharesLatinWord(question: string, article: Article | undefined): boolean {
  if (!article) return false;
  const words = (question.toLowerCase().match(/[a-z]{3,}/g) ?? []).filter((w) => !ENGLISH_STOP.has(w));
  const articleTokens = new Set(tokenize(`${article.headline}\n${article.text}`, 'words'));
  return words.some((w) => articleTokens.has(w) || articleTokens.has(w.replace(/s$/, '')));
}

/** A Chinese question whose every content noun is absent from the article, when the article is
 * only loosely similar, is about something else ("北京的天气" finds an article about 北京). */
function offTopic(question: string, passage: Passage, article: Article | undefined): boolean {
  if (!article || (passage.similarity ?? 0) >= 0.5) return false;
  const entities = namedEntities(question);
  const nouns = nounsOf(question).filter((n) => !GENERIC_NOUNS.has(n) && !entities.some((e) => n.includes(e) || e.includes(n)));
  const body = `${article.kicker ?? ''}${article.headline}${article.text}${article.summary ?? ''}`;
  return nouns.length > 0 && nouns.every((n) => !body.includes(n));
}
