// Hybrid retrieval: the question is embedded once; the dense top-k (HNSW) and the BM25 top-k are
// fused (by default a convex combination of their scores, which `npm run eval` measured better
// than reciprocal rank fusion); each article keeps its best passage.
import * as OpenCC from 'opencc-js';
import { EmbeddingUnavailableError, type TextEmbedder } from '../index/embeddings.ts';
import { mentions, namedEntities } from '../index/keyword.ts';
import type { LocalIndexView } from '../index/local.ts';
import type { IndexView, KeywordScorer } from '../index/port.ts';
import type { Logger } from '../log.ts';

export type RetrievalMode = 'hybrid' | 'dense' | 'keyword';

export interface Passage {
  rank: number;
  /** Relevance in 0..1 comparable across questions: the "nothing relevant" signal. */
  score: number;
  articleId: string;
  chunkId: string;
  headline: string;
  file: string;
  text: string;
  /** Cosine similarity of question and passage (absent without the embedding model). */
  similarity?: number;
  /** BM25 score divided by the question's ideal score (0..~1). */
  keywordMatch: number;
  /** Places or organisations the question names that this article never mentions. */
  missingEntities: string[];
}

export interface SearchResult {
  question: string;
  /** The question as searched (Traditional Chinese converted to Simplified). */
  normalizedQuestion: string;
  mode: RetrievalMode;
  /** Set when retrieval ran degraded, in Chinese, for the user. */
  notice?: string;
  results: Passage[];
  timings: { embedMs: number; searchMs: number };
}

export interface SearchOptions {
  k?: number;
  /** The index version to search: an answer passes the one it uses throughout. */
  view?: IndexView;
  mode?: RetrievalMode;
  /** Evaluation hook: reuse a query vector. */
  queryVector?: number[];
  fusion?: Fusion;
}

/** How dense and keyword results are combined: reciprocal rank, or a convex combination of
 * their scores (measured in `npm run eval`). */
export type Fusion = 'rrf' | 'convex';

/** Traditional to Simplified Chinese: retrieval and answers read Simplified. */
export const toSimplified = OpenCC.Converter({ from: 't', to: 'cn' });
const RRF_K = 60;
const CONVEX_ALPHA = 0.5;
const CONVEX_ALPHA_LATIN = 0.3;
export const KEYWORD_ONLY_NOTICE = '（语义检索暂不可用：嵌入模型未能加载，本次仅按关键词检索。）';
export const NO_VECTORS_NOTICE = '（当前索引没有语义向量，本次仅按关键词检索；管理员重建索引后即可恢复。）';

/** Everything one search learns about a chunk, by chunk id. */
interface Candidates {
  fused: Map<string, number>;
  similarity: Map<string, number>;
  keywordMatch: Map<string, number>;
}

export class Retriever {
  private warnedNoModel = false;

  constructor(
    private readonly views: () => Promise<IndexView>,
    private readonly embedder: TextEmbedder | undefined,
    private readonly logger?: Logger,
    private readonly fusion: Fusion = 'convex',
  ) {}

  async search(question: string, options: SearchOptions = {}): Promise<SearchResult> {
    // One version for the whole search (and, passed in, for the whole answer), even if a page is
    // replaced meanwhile; a view taken here is released here.
    const view = options.view ?? (await this.views());
    try {
      return await this.searchView(view, question, options);
    } finally {
      if (!options.view) await view.release().catch((error: Error) => this.logger?.warn(`Could not release the index view: ${error.message}`));
    }
  }

  private async searchView(view: IndexView, question: string, options: SearchOptions): Promise<SearchResult> {
    const k = options.k ?? 5;
    const normalizedQuestion = toSimplified(question.trim());
    const embedStart = performance.now();
    const { mode, queryVector, notice } = await this.queryVector(view, normalizedQuestion, options);
    const embedMs = performance.now() - embedStart;
    const searchStart = performance.now();
    const latin = isMostlyLatin(normalizedQuestion);
    const scorer = await view.scorer([normalizedQuestion]);
    const found = await this.candidates(view, normalizedQuestion, { mode, queryVector, latin, depth: Math.max(40, k * 8), scorer, fusion: options.fusion ?? this.fusion });
    const results = await this.passages(view, normalizedQuestion, found, { k, mode, queryVector, scorer });
    return { question, normalizedQuestion, mode, notice, results, timings: { embedMs: round(embedMs), searchMs: round(performance.now() - searchStart) } };
  }

  /** The question's vector, or keyword mode with the notice that says why. */
  private async queryVector(view: IndexView, question: string, options: SearchOptions): Promise<{ mode: RetrievalMode; queryVector?: number[]; notice?: string }> {
    const mode = options.mode ?? 'hybrid';
    if (mode === 'keyword' || options.queryVector) return { mode, queryVector: options.queryVector };
    if (!view.hasVectors || !this.embedder) return { mode: 'keyword', notice: this.embedder ? NO_VECTORS_NOTICE : KEYWORD_ONLY_NOTICE };
    try {
      return { mode, queryVector: await this.embedder.embedQuery(question) };
    } catch (error) {
      if (!(error instanceof EmbeddingUnavailableError)) throw error;
      if (!this.warnedNoModel) this.logger?.warn(`${error.message} Answering from keyword retrieval alone.`);
      this.warnedNoModel = true;
      return { mode: 'keyword', notice: KEYWORD_ONLY_NOTICE };
    }
  }

  /** The dense and keyword top lists fused, by chunk id. */
  private async candidates(
    view: IndexView,
    question: string,
    o: { mode: RetrievalMode; queryVector?: number[]; latin: boolean; depth: number; scorer: KeywordScorer; fusion: Fusion },
  ): Promise<Candidates> {
    // bge-small-zh bridges English to Chinese only weakly; for an English question the keyword
    // side (which reaches Chinese names through pinyin) carries more weight.
    const denseWeight = o.latin ? 0.5 : 1;
    const found: Candidates = { fused: new Map(), similarity: new Map(), keywordMatch: new Map() };
    const { fused, similarity, keywordMatch } = found;
    const dense = o.mode !== 'keyword' && o.queryVector && view.hasVectors;
    // Both legs at once: PostgreSQL runs them on two connections of one snapshot.
    const [denseHits, keywordHits] = await Promise.all([
      dense ? view.denseSearch(o.queryVector!, Math.min(o.depth, view.chunkCount)) : [],
      o.mode === 'dense' ? [] : view.keywordSearch(question, o.depth),
    ]);
    denseHits.forEach(({ id, score }, rank) => {
      similarity.set(id, score);
      fused.set(id, (fused.get(id) ?? 0) + denseWeight / (RRF_K + rank + 1));
    });
    const ideal = o.scorer.idealScore(question, o.latin) || 1;
    keywordHits.forEach(({ id, score }, rank) => {
      keywordMatch.set(id, Math.min(1, score / ideal));
      fused.set(id, (fused.get(id) ?? 0) + 1 / (RRF_K + rank + 1));
    });
    if (o.fusion === 'convex' && o.mode === 'hybrid' && dense) {
      // Scores instead of ranks: cosine and BM25 over its ideal, for every candidate of either side.
      const alpha = o.latin ? CONVEX_ALPHA_LATIN : CONVEX_ALPHA;
      await fillSimilarity(view, o.queryVector!, [...fused.keys()], similarity);
      for (const id of fused.keys()) fused.set(id, alpha * (similarity.get(id) ?? 0) + (1 - alpha) * (keywordMatch.get(id) ?? 0));
    }
    return found;
  }

  /** Articles in order of their best fused chunk; then, within each article, the passage whose
   * own words (not the headline every chunk carries) best match the question. */
  private async passages(
    view: IndexView,
    question: string,
    { fused, similarity, keywordMatch }: Candidates,
    o: { k: number; mode: RetrievalMode; queryVector?: number[]; scorer: KeywordScorer },
  ): Promise<Passage[]> {
    const ranked = [...fused].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    const chunks = await view.chunks(ranked);
    const chunksOfArticle = new Map<string, string[]>();
    for (const id of ranked) {
      const articleId = chunks.get(id)?.articleId;
      if (articleId) chunksOfArticle.set(articleId, [...(chunksOfArticle.get(articleId) ?? []), id]);
    }
    const topArticles = [...chunksOfArticle].slice(0, o.k);
    const dense = o.mode !== 'keyword' && o.queryVector !== undefined && view.hasVectors;
    if (dense) await fillSimilarity(view, o.queryVector!, topArticles.flatMap(([, ids]) => ids), similarity);
    // Coverage of each chunk's indexed text (the local index reads it from its postings): the
    // headline in it adds the same to all of an article's chunks, so the passage's own words decide.
    const ownCoverage = 'chunkCoverage' in view ? (view as LocalIndexView).chunkCoverage(question, topArticles.flatMap(([, ids]) => ids)) : undefined;
    const best = topArticles.map(([, ids]) => {
      const passageScore = (id: string) => (similarity.get(id) ?? 0) + (ids.length === 1 ? 0 : ownCoverage?.get(id) ?? o.scorer.coverage(question, chunks.get(id)!.indexText));
      return ids.reduce((a, b) => (passageScore(b) > passageScore(a) ? b : a));
    });
    const articles = await view.articles(best.map((id) => chunks.get(id)!.articleId));
    const entities = namedEntities(question);
    return best.map((id, i) => {
      const chunk = chunks.get(id)!;
      const article = articles.get(chunk.articleId);
      const articleText = article ? `${article.kicker ?? ''}${article.headline}${article.text}${article.summary ?? ''}` : chunk.text;
      const missingEntities = entities.filter((entity) => !mentions(articleText, entity));
      // A chunk stored without a vector, in a dense search, is not similar at all.
      const sim = dense ? similarity.get(id) ?? 0 : undefined;
      const match = keywordMatch.get(id) ?? 0;
      const passage: Passage = {
        rank: i + 1,
        score: relevance(sim, match, missingEntities.length > 0),
        articleId: chunk.articleId,
        chunkId: chunk.id,
        headline: chunk.headline,
        file: chunk.file,
        text: chunk.text,
        keywordMatch: round(match),
        missingEntities,
      };
      if (sim !== undefined) passage.similarity = round(sim);
      return passage;
    });
  }
}

/** Cosine similarity for the chunks the dense top list did not reach, from their stored vectors. */
async function fillSimilarity(view: IndexView, queryVector: number[], ids: string[], similarity: Map<string, number>): Promise<void> {
  const missing = ids.filter((id) => !similarity.has(id));
  if (missing.length === 0) return;
  for (const [id, vector] of await view.vectors(missing)) similarity.set(id, cosine(queryVector, vector));
}

/** One relevance number from the two signals; calibrated on the unanswerable questions of the
 * evaluation set (see README). Without the model, the keyword match alone. An article that never
 * mentions a place or organisation the question names cannot answer it: its score drops. */
export function relevance(similarity: number | undefined, keywordMatch: number, missesEntity = false): number {
  const base = similarity === undefined ? keywordMatch : 0.7 * similarity + 0.3 * keywordMatch;
  return round(missesEntity ? base * 0.4 : base);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // both vectors are normalised
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Mostly Latin letters: an English (or pinyin) question. */
export function isMostlyLatin(text: string): boolean {
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  return latin > han * 2;
}
