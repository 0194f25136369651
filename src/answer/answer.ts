// The answer pipeline: question → follow-up rewriting → retrieval → answer (LLM or extractive)
// → citation check. Refuses plainly when the articles do not say.
import type { Article } from '../corpus/types.ts';
import type { TextEmbedder } from '../index/embeddings.ts';
import { GENERIC_NOUNS, namedEntities, nounsOf, tokenize } from '../index/keyword.ts';
import type { IndexView, KeywordScorer } from '../index/port.ts';
import type { Logger } from '../log.ts';
import { isMostlyLatin, toSimplified, type Passage, type Retriever, type SearchResult } from '../retrieve/search.ts';
import { checkCitations } from './cite.ts';
import { articleText, askQueries, ExtractiveAnswerer } from './extractive.ts';
import { buildContext } from './context.ts';
import { carryOverTerms, looksLikeFollowUp, switchTargets } from './followup.ts';
import type { ChatModel, OnText } from './llm.ts';
import { answerMessages, rewriteMessages } from './prompt.ts';
import { SAYS_NOT_REPORTED } from './present.ts';
import { understand, type QuestionFrame } from './question.ts';
import { DEFAULT_LLM_CONTEXT_CHARS, LISTS } from './tuning.ts';
import type { Answer, Turn } from './types.ts';

/** Below this relevance nothing retrieved answers the question (calibrated with `npm run eval`:
 * unanswerable questions score under 0.29, answerable Chinese ones above 0.35). English
 * questions reach Chinese text through a weaker bridge, so their scores run lower. */
export const RELEVANCE_THRESHOLD = 0.3;
export const RELEVANCE_THRESHOLD_LATIN = 0.22;

/** A loosely similar article lacking this share of the question's content nouns is off-topic.
 * Measured: 0.6 refused a paraphrase that avoids the article's words (q52); all of them it is. */
const OFF_TOPIC_ABSENT_SHARE = 1;

export const LLM_FALLBACK_NOTICE = '（大模型暂时不可用，以下是根据原文摘录的回答。）';

export interface AnswererOptions {
  retriever: Retriever;
  /** The index through the storage port: one view per answer, released when it is done. */
  views: () => Promise<IndexView>;
  embedder?: TextEmbedder;
  llm?: ChatModel;
  logger?: Logger;
  /** Longer questions are refused politely (MAX_QUESTION_CHARS). */
  maxQuestionChars?: number;
  /** Characters of article text the LLM is shown (LLM_CONTEXT_CHARS). */
  contextChars?: number;
  /** Articles at most in a list answer (LIST_MAX_ARTICLES). */
  maxListArticles?: number;
}

export class Answerer {
  private readonly extractive: ExtractiveAnswerer;

  constructor(private readonly options: AnswererOptions) {
    this.extractive = new ExtractiveAnswerer(options.embedder, options.logger);
  }

  get mode(): 'llm' | 'extractive' {
    return this.options.llm ? 'llm' : 'extractive';
  }

  /** `onDraft` sees a generated answer's text as the LLM streams it, before the citation check
   * (which may still remove sentences, or the whole draft for an extractive fallback).
   * `extractive` answers without the LLM (a caller with a deadline the LLM has missed). */
  async answer(question: string, history: Turn[] = [], options: { onDraft?: OnText; extractive?: boolean } = {}): Promise<Answer> {
    const started = performance.now();
    const limit = this.options.maxQuestionChars ?? 500;
    const declined = (text: string): Answer => ({ text, citations: [], refused: true, coverage: 'none', notReported: [], mode: this.mode, timings: { totalMs: 0, retrieveMs: 0, generateMs: 0 } });
    if (question.trim().length > limit) return declined(`问题太长了（${question.trim().length} 字），请精简到 ${limit} 字以内再问。`);
    // 👍 or "？？" is not a question, and must not re-answer the previous one as a follow-up.
    if (!/[\p{L}\p{N}]/u.test(question)) return declined('请用文字写下你的问题，例如：上海今年建成了多少间职工工间休息室？');

    // Traditional Chinese is read as Simplified throughout, not only by retrieval.
    const asked = toSimplified(question.trim());
    // The LLM rewrite needs no index: done before a view is taken, so none is held through it.
    const llmRewrite = looksLikeFollowUp(asked, history) && !options.extractive ? await this.rewriteWithLlm(asked, history) : undefined;
    const retrieveStart = performance.now();
    const gathered = await this.gather(asked, history, llmRewrite);
    return this.compose(question, asked, gathered, started, performance.now() - retrieveStart, options);
  }

  /** Everything read from the index, from one view, released before composing (and before any
   * LLM call): a database view holds a connection and a transaction. */
  private async gather(asked: string, history: Turn[], llmRewrite: string | undefined) {
    const view = await this.options.views(); // one version of the index for the whole answer
    try {
      const followUp = await this.followUp(asked, history, view, llmRewrite);
      const search = await this.options.retriever.search(followUp.searchQuestion, { k: followUp.frame.kind === 'list' ? LISTS.candidates : 5, view });
      const passages = preferFollowedArticles(search.results, followUp.preferred);
      const sources = await sourcesFor(view, passages, [asked, ...askQueries(followUp.searchQuestion)]);
      return { ...followUp, search, passages, sources };
    } finally {
      await view.release().catch((error: Error) => this.options.logger?.warn(`Could not release the index view: ${error.message}`));
    }
  }

  private async compose(question: string, asked: string, gathered: Awaited<ReturnType<Answerer['gather']>>, started: number, retrieveMs: number, { onDraft, extractive }: { onDraft?: OnText; extractive?: boolean }): Promise<Answer> {
    const { searchQuestion, frame, rewritten, named, search, passages, sources: snapshot } = gathered;
    const listMax = this.options.maxListArticles ?? LISTS.maxArticles;
    const relevant = this.relevantPassages(question, searchQuestion, passages, frame, snapshot);
    const timings = (generateStart: number) => ({
      totalMs: Math.round(performance.now() - started),
      retrieveMs: Math.round(retrieveMs),
      generateMs: Math.round(performance.now() - generateStart),
    });
    const base = { ...(rewritten ? { rewrittenQuestion: rewritten } : {}) };
    if (relevant.length === 0) return { ...base, ...refusal(question, search), mode: this.mode, timings: timings(performance.now()) };

    const generateStart = performance.now();
    const notices = search.notice ? [search.notice] : [];
    const articles = articlesFor(frame, relevant, snapshot, listMax);
    if (this.options.llm && !extractive) {
      try {
        const llmAnswer = await this.answerWithLlm(searchQuestion, frame, llmArticles(frame, relevant, passages, snapshot), relevant, onDraft);
        if (llmAnswer) return { ...base, ...llmAnswer, mode: 'llm', ...(notices.length ? { notice: notices.join('') } : {}), timings: timings(generateStart) };
        this.options.logger?.warn('LLM answer had no verifiable citation: answering extractively instead');
      } catch (error) {
        this.options.logger?.warn(`LLM call failed, answering extractively: ${(error as Error).message.split('\n')[0]}`);
      }
      notices.push(LLM_FALLBACK_NOTICE);
    }
    const composed = await this.extractive.compose(searchQuestion, frame, articles, snapshot.keyword, { shown: asked, named });
    if (!composed.text) return { ...base, ...refusal(question, search), mode: 'extractive', timings: timings(generateStart) };
    return {
      ...base,
      text: composed.text,
      citations: composed.citations,
      refused: false,
      coverage: composed.coverage,
      notReported: composed.notReported,
      mode: 'extractive',
      ...(notices.length ? { notice: notices.join('') } : {}),
      timings: timings(generateStart),
    };
  }

  /** A follow-up borrows the previous turn's topic and ask; one that names a place or topic the
   * previous articles lack searches afresh; a question that names its own topic stands alone. */
  private async followUp(question: string, history: Turn[], view: IndexView, llmRewrite: string | undefined) {
    let frame = understand(question);
    const previous = history.at(-1);
    if (!previous || !looksLikeFollowUp(question, history)) return { searchQuestion: question, frame, preferred: [] as string[], rewritten: undefined, named: [] as string[] };
    const previousArticles = await view.articles(previous.articleIds ?? []);
    const previousText = (previous.articleIds ?? []).map((id) => articleText(previousArticles.get(id))).join('');
    const named = [...namedEntities(question), ...switchTargets(question)];
    const switches = named.some((name) => !previousText.includes(name));
    const rewritten = llmRewrite ?? carryOverTerms(question, previous, named);
    // "那吴忠呢？" asks what the previous question asked, about somewhere else.
    // Its unit goes too: 碑林 counts 批次 where 万州 counted 件.
    if (frame.slot === 'other' && frame.kind === 'detail') frame = { ...understand(previous.question), unit: undefined, counted: undefined };
    return { searchQuestion: rewritten, frame, preferred: switches ? [] : (previous.articleIds ?? []), rewritten, named };
  }

  /** Passages that answer: above the relevance bar, close to the best one, and on topic. */
  private relevantPassages(question: string, searchQuestion: string, passages: Passage[], frame: QuestionFrame, snapshot: Sources): Passage[] {
    const latin = isMostlyLatin(question);
    const threshold = latin ? RELEVANCE_THRESHOLD_LATIN : RELEVANCE_THRESHOLD;
    const top = passages[0]?.score ?? 0;
    const isList = frame.kind === 'list';
    // A list keeps the articles that cover the question nearly as well as the best one does.
    const cover = new Map(passages.map((p) => [p.articleId, snapshot.keyword.coverage(searchQuestion, articleText(snapshot.articlesById.get(p.articleId)))]));
    const bestCover = Math.max(0, ...cover.values());
    const places = isList ? namedEntities(searchQuestion) : [];
    // The model's English is weak, so an English question must also share a word with the
    // article (a name through its pinyin, an acronym): "What is the capital of France?" shares none.
    return passages.filter((p) => {
      const article = snapshot.articlesById.get(p.articleId);
      if (p.score < threshold) return false;
      if (!isList && p.score < top - 0.2) return false;
      // "广西工会都有哪些动态": every article that names 广西; otherwise those on the question's
      // topic by relevance and keyword coverage together (one alone drops paraphrased members).
      if (isList && (places.length ? p.score < LISTS.minShareOfTop * top || !places.every((e) => articleText(article).includes(e)) : !listMember(p.score / top, (cover.get(p.articleId) ?? 0) / (bestCover || 1)))) return false;
      return latin ? sharesLatinWord(question, article) : !offTopic(question, p, article);
    });
  }

  private async answerWithLlm(question: string, frame: QuestionFrame, articles: Article[], passages: Passage[], onDraft?: OnText): Promise<Omit<Answer, 'mode' | 'timings'> | undefined> {
    const sources = buildContext(frame, articles, passages, this.options.contextChars ?? DEFAULT_LLM_CONTEXT_CHARS);
    const raw = await this.options.llm!.complete(answerMessages(question, sources, frame), onDraft);
    const checked = checkCitations(raw, sources);
    const firstLine = checked.text.split('\n')[0];
    const notReported = SAYS_NOT_REPORTED.test(firstLine) ? [firstLine.replace(/\[\d+\]/g, '')] : [];
    if (checked.citations.length === 0) {
      // A plain "the articles do not say" is an honest answer; anything else uncited is not.
      if (SAYS_NOT_REPORTED.test(checked.text) && checked.removedClaims.length === 0) {
        return { text: checked.text, citations: [], refused: true, coverage: 'none', notReported, suggestions: sources.slice(0, 3).map(({ headline, file }) => ({ headline, file })) };
      }
      return undefined;
    }
    const answer: Omit<Answer, 'mode' | 'timings'> = { text: checked.text, citations: checked.citations, refused: false, coverage: notReported.length ? 'partial' : 'full', notReported };
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

/** What the answer stage reads besides the passages: their articles, and keyword statistics that
 * know the question's and the articles' headline terms (a Postgres view fetches just these). */
interface Sources {
  articlesById: Map<string, Article>;
  keyword: KeywordScorer;
}

async function sourcesFor(view: IndexView, passages: Passage[], questions: string[]): Promise<Sources> {
  const articlesById = await view.articles([...new Set(passages.map((p) => p.articleId))]);
  const about = [...articlesById.values()].map((a) => `${a.headline} ${a.kicker ?? ''} ${a.summary ?? ''}`);
  return { articlesById, keyword: await view.scorer([...questions, ...about]) };
}

function refusal(question: string, search: SearchResult): Pick<Answer, 'text' | 'citations' | 'refused' | 'coverage' | 'notReported' | 'suggestions' | 'notice'> {
  const suggestions = search.results.slice(0, 3).map(({ headline, file }) => ({ headline, file }));
  // Missing only if no result mentions it: one article's silence proves nothing.
  const missing = search.results.length ? search.results[0].missingEntities.filter((e) => search.results.every((r) => r.missingEntities.includes(e))) : [];
  const topic = question.trim().replace(/[？?。！!]+$/, '').slice(0, 40);
  const lines = [`未在已收录的报道中找到“${topic}”的答案。`];
  if (missing.length) lines.push(`已收录的报道没有提到${missing.map((m) => `“${m}”`).join('、')}。`);
  if (suggestions.length) lines.push(`相近的报道：${suggestions.map((s) => `《${s.headline}》`).join('、')}`);
  return { text: lines.join('\n'), citations: [], refused: true, coverage: 'none', notReported: [], suggestions, ...(search.notice ? { notice: search.notice } : {}) };
}

/** A list's member: its relevance and keyword coverage, each as a share of the best article's,
 * average at least LISTS.minMemberShare. */
function listMember(scoreShare: number, coverShare: number): boolean {
  return (scoreShare + coverShare) / 2 >= LISTS.minMemberShare;
}

/** The articles an answer of this shape draws on: one for a summary, up to the list cap for a
 * list, the best three for a detail. */
function articlesFor(frame: QuestionFrame, relevant: Passage[], snapshot: Sources, listMax: number): Article[] {
  const count = frame.kind === 'summary' ? 1 : frame.kind === 'list' ? listMax : 3;
  return relevant
    .slice(0, count)
    .map((p) => snapshot.articlesById.get(p.articleId))
    .filter((a): a is Article => a !== undefined);
}


/** What the LLM is shown: the articles the extractive answer would use, then the other retrieved
 * articles above the relevance bar, for the model to judge (the budget in buildContext bounds
 * the size). A list's members a bar set for extractive lines would drop are often among them. */
function llmArticles(frame: QuestionFrame, relevant: Passage[], retrieved: Passage[], snapshot: Sources): Article[] {
  if (frame.kind === 'summary') return articlesFor(frame, relevant, snapshot, 1);
  const cap = frame.kind === 'list' ? LISTS.llmMaxArticles : LLM_DETAIL_ARTICLES;
  const ids = [...new Set([...relevant, ...retrieved.filter((p) => p.score >= RELEVANCE_THRESHOLD)].map((p) => p.articleId))].slice(0, cap);
  return ids.map((id) => snapshot.articlesById.get(id)).filter((a): a is Article => a !== undefined);
}

/** A detail question's model sees up to this many articles (the extractive answer uses three). */
const LLM_DETAIL_ARTICLES = 5;

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
  const absent = nouns.filter((n) => !body.includes(n)).length;
  return nouns.length > 0 && absent / nouns.length >= OFF_TOPIC_ABSENT_SHARE;
}
