// Synthetic corpora for `npm run bench`: the seed chunks and their vectors replicated with small
// variations (deterministic: the same sizes give the same corpus), grouped into pages, and the
// exact nearest neighbours that approximate (HNSW) search is checked against.
//
// Keyword statistics like a real archive's: a newspaper's names (people, firms, places) recur in
// a few articles while its topic words recur everywhere. Plain copies would put every name of the
// seeds in one chunk in 135, so a 1M-chunk corpus would have no rare term at all. So the seeds'
// proper nouns (jieba's name tags, and person names) that occur in at most NAME_DF seed chunks
// are treated as names, and each copy renames them to one of NAME_VARIANTS spellings (copies ≡ 0 keep the seed's): a name is as rare at 100k
// chunks as in ~NAME_VARIANTS/135 of the seeds, the vocabulary grows with the corpus (Heaps' law),
// and topic words stay as common as in the seeds.
import type { Article } from '../corpus/types.ts';
import type { Chunk } from '../index/chunk.ts';
import { personNames, segmenter } from '../index/keyword.ts';
import type { PageRecord } from '../index/port.ts';

const PLACES = ['东城', '西城', '南岗', '北塘', '中原', '江岸', '河口', '山阳', '海湾', '湖滨'];
const NAME_DF = 2;
const NAME_VARIANTS = 500;
const NAME_CHARS = '丰华嘉瑞康宁安泰鸿德永兴盛昌隆祥福润和佳新远辉恒信达通泽林晨阳明宇航光清云海峰岚';

const NAME_TAGS = new Set(['nr', 'nrt', 'ns', 'nt', 'nz']);

/** The seed texts' names: proper nouns of two or more Chinese characters in at most NAME_DF texts. */
export function seedNames(texts: string[]): Set<string> {
  const df = new Map<string, number>();
  for (const text of texts) {
    const tagged = segmenter().tag(text, true).filter(({ tag }) => NAME_TAGS.has(tag)).map(({ word }) => word);
    for (const word of new Set([...tagged, ...personNames(text)])) if (/^[\u3400-\u9fff]{2,}$/.test(word)) df.set(word, (df.get(word) ?? 0) + 1);
  }
  return new Set([...df].filter(([, n]) => n <= NAME_DF).map(([word]) => word));
}

/** Spelling `v` of a name (0: the name itself): its first, and from NAME_CHARS.length on its
 * last, character changed, so that the words inside a long name stay (工商 in 惠工商城). */
function rename(name: string, v: number): string {
  if (v === 0) return name;
  const chars = [...name];
  const shift = chars[0].charCodeAt(0);
  const n = NAME_CHARS.length;
  chars[0] = NAME_CHARS[(v + shift) % n];
  if (v >= n) chars[chars.length - 1] = NAME_CHARS[(Math.floor(v / n) + shift) % n];
  return chars.join('');
}

/** Which names each seed text holds, longest first (a name inside a longer one is renamed with it). */
const namesIn = new WeakMap<Set<string>, Map<string, string[]>>();
function namesOf(text: string, names: Set<string>): string[] {
  let cache = namesIn.get(names);
  if (!cache) namesIn.set(names, (cache = new Map()));
  let found = cache.get(text);
  if (!found) {
    found = [...names].filter((name) => text.includes(name)).sort((a, b) => b.length - a.length);
    cache.set(text, found);
  }
  return found;
}

/** Copy number `copy` of a text: names respelled, numbers shifted and a place inserted. */
function vary(text: string, copy: number, names: Set<string>): string {
  const place = `${PLACES[copy % PLACES.length]}${copy}`;
  const v = copy % NAME_VARIANTS;
  let renamed = text;
  if (v !== 0) for (const name of namesOf(text, names)) renamed = renamed.split(name).join(rename(name, v));
  return renamed.replace(/\d+/g, (d) => String((Number(d) + copy) % 100000)).replace(/(?<=[省市县区])/, place);
}

/** One synthetic chunk and its unit vector. */
export interface SyntheticChunk {
  chunk: Chunk;
  vector: number[];
}

/** The seed chunks copied `size` times in all, with changed numbers, a varying place and names
 * respelled, and their vectors with small noise, so that the copies are near, not identical,
 * neighbours. Ids get `~copy`. One at a time: a million do not fit in memory as objects. */
export function* syntheticChunks(chunks: Chunk[], vectors: number[][], size: number, names = seedNames(chunks.map((c) => c.indexText))): Generator<SyntheticChunk> {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < size; i++) {
    const source = chunks[i % chunks.length];
    const copy = Math.floor(i / chunks.length);
    const text = vary(source.text, copy, names);
    const headline = vary(source.headline, copy, names);
    const chunk = { ...source, id: `${source.id}~${copy}`, articleId: `${source.articleId}~${copy}`, headline, text, indexText: `${headline}\n${text}` };
    const noisy = vectors[i % chunks.length].map((v) => v + (random() - 0.5) * 0.04);
    const norm = Math.hypot(...noisy);
    yield { chunk, vector: noisy.map((v) => v / norm) };
  }
}

/** syntheticChunks() as two arrays. */
export function replicate(chunks: Chunk[], vectors: number[][], size: number, names?: Set<string>): { chunks: Chunk[]; vectors: number[][] } {
  const out = { chunks: [] as Chunk[], vectors: [] as number[][] };
  for (const { chunk, vector } of syntheticChunks(chunks, vectors, size, names)) {
    out.chunks.push(chunk);
    out.vectors.push(vector);
  }
  return out;
}

/** Synthetic chunks as pages of about `perPage` chunks, cut only between articles (an article
 * lives in one page); each page's articles are copies of the seed articles. One at a time. */
export function* syntheticPages(items: Iterable<SyntheticChunk>, seedArticles: Map<string, Article>, names: Set<string>, perPage = 35): Generator<PageRecord> {
  let held: SyntheticChunk[] = [];
  let n = 0;
  for (const item of items) {
    if (held.length >= perPage && item.chunk.articleId !== held[held.length - 1].chunk.articleId) {
      yield page(n++, held, seedArticles, names);
      held = [];
    }
    held.push(item);
  }
  if (held.length > 0) yield page(n, held, seedArticles, names);
}

/** syntheticPages() over arrays, as an array. */
export function paginate(chunks: Chunk[], vectors: number[][], seedArticles: Map<string, Article>, names: Set<string>, perPage = 35): PageRecord[] {
  return [...syntheticPages(chunks.map((chunk, i) => ({ chunk, vector: vectors[i] })), seedArticles, names, perPage)];
}

function page(n: number, items: SyntheticChunk[], seedArticles: Map<string, Article>, names: Set<string>): PageRecord {
  const file = `synthetic/${String(n).padStart(6, '0')}.txt`;
  const articles = [...new Set(items.map((x) => x.chunk.articleId))].map((id) => {
    const at = id.lastIndexOf('~');
    const source = seedArticles.get(id.slice(0, at));
    if (!source) throw new Error(`no seed article for ${id}`);
    const copy = Number(id.slice(at + 1));
    return { ...source, id, file, headline: vary(source.headline, copy, names), text: vary(source.text, copy, names) };
  });
  return { file, contentHash: `synthetic-${n}`, articles, chunks: items.map((x) => ({ ...x.chunk, file })), vectors: items.map((x) => x.vector) };
}

/** A page none of the corpus holds (an upload): `like`'s chunks, articles and vectors, new ids. */
export function newPage(like: PageRecord): PageRecord {
  const file = 'synthetic/new.txt';
  const renamed = (id: string) => `${id}+new`;
  return {
    file,
    contentHash: 'synthetic-new',
    articles: like.articles.map((a) => ({ ...a, id: renamed(a.id), file })),
    chunks: like.chunks.map((c) => ({ ...c, id: renamed(c.id), articleId: renamed(c.articleId), file })),
    vectors: like.vectors,
  };
}

/** The exact top `k` positions in `vectors` for each query, by dot product (unit vectors: cosine). */
export function exactTopK(vectors: number[][], queries: number[][], k: number): number[][] {
  const top = new ExactTopK(queries, k);
  for (const vector of vectors) top.add(vector);
  return top.positions();
}

/** exactTopK() fed one vector at a time, in position order. */
export class ExactTopK {
  private readonly queries: Float32Array[];
  private readonly best: { position: number; dot: number }[][];
  private count = 0;

  constructor(
    queries: number[][],
    private readonly k: number,
  ) {
    this.queries = queries.map((q) => Float32Array.from(q));
    this.best = queries.map(() => []);
  }

  add(vector: number[]): void {
    const v = Float32Array.from(vector);
    const position = this.count++;
    this.queries.forEach((q, n) => {
      let dot = 0;
      for (let j = 0; j < q.length; j++) dot += v[j] * q[j];
      const top = this.best[n];
      if (top.length === this.k && dot <= top[this.k - 1].dot) return;
      if (top.length === this.k) top.pop();
      let at = top.length;
      while (at > 0 && top[at - 1].dot < dot) at--;
      top.splice(at, 0, { position, dot });
    });
  }

  positions(): number[][] {
    return this.best.map((top) => top.map((x) => x.position));
  }
}
