// pages-*.jsonl, the articles and chunks of a local build (src/index/store.ts): one line per page,
// {"file", "articles", "chunks"}. A paragraph's text that is a piece of its article's text is
// stored as its length; a chunk's fields that come from its article (articleId, file, headline,
// kind, kicker), its text when it is the article's text between its offsets (trimmed) or the
// article's summary, and its indexText when it is the title and the text, are left out. Decoding
// rebuilds them as slices and references of the article's strings, so a loaded chunk costs
// little more than its id. Every field left out is checked when encoding: a chunk that does not
// follow these rules (synthetic corpora) is stored as it is.
import type { FileHandle } from 'node:fs/promises';
import type { Article } from '../corpus/types.ts';
import type { Chunk } from './chunk.ts';

interface StoredChunk {
  /** id, article (its index in the page's articles, -1 if none), ordinal, start, end */
  c: [string, number, number, number, number];
  /** text, when it is not derived from the article */
  t?: string;
  /** indexText, when it is not the title and the text */
  x?: string;
  /** fields that differ from the article's (null: absent) */
  f?: Partial<Record<(typeof ARTICLE_FIELDS)[number], string | null>>;
  /** any other field, as is */
  o?: Record<string, unknown>;
}

const ARTICLE_FIELDS = ['articleId', 'file', 'headline', 'kind', 'kicker'] as const;
const CHUNK_FIELDS = new Set(['id', 'articleId', 'file', 'headline', 'kind', 'kicker', 'ordinal', 'text', 'indexText', 'start', 'end']);

const titleOf = (kicker: string | undefined, headline: string) => [kicker, headline].filter(Boolean).join(' ');

function articleFields(article: Article | undefined): Record<(typeof ARTICLE_FIELDS)[number], string | undefined> {
  return { articleId: article?.id, file: article?.file, headline: article?.headline, kind: article?.kind, kicker: article?.kicker || undefined };
}

function derivedText(article: Article | undefined, start: number, end: number): string | undefined {
  if (!article) return undefined;
  return start >= 0 ? article.text.slice(start, end).trim() : start === -1 ? article.summary : undefined;
}

export function encodePage(file: string, articles: Article[], chunks: Chunk[]): string {
  const at = new Map(articles.map((a, i) => [a.id, i]));
  const storedArticles = articles.map((article) => {
    const pieces = article.paragraphs.map((p) => p.text).join('\n') === article.text;
    return pieces ? { ...article, paragraphs: article.paragraphs.map((p) => ({ ...p, text: p.text.length })) } : article;
  });
  const storedChunks = chunks.map((chunk): StoredChunk => {
    const a = at.get(chunk.articleId) ?? -1;
    const article = articles[a];
    const stored: StoredChunk = { c: [chunk.id, a, chunk.ordinal, chunk.start, chunk.end] };
    const derived = articleFields(article);
    const f: StoredChunk['f'] = {};
    for (const key of ARTICLE_FIELDS) if (chunk[key] !== derived[key]) f[key] = chunk[key] ?? null;
    if (Object.keys(f).length) stored.f = f;
    if (chunk.text !== derivedText(article, chunk.start, chunk.end)) stored.t = chunk.text;
    if (chunk.indexText !== `${titleOf(chunk.kicker, chunk.headline)}\n${chunk.text}`) stored.x = chunk.indexText;
    const other = Object.entries(chunk).filter(([key]) => !CHUNK_FIELDS.has(key));
    if (other.length) stored.o = Object.fromEntries(other);
    return stored;
  });
  return JSON.stringify({ file, articles: storedArticles, chunks: storedChunks });
}

export function decodePage(line: string): { file: string; articles: Article[]; chunks: Chunk[] } {
  const stored = JSON.parse(line) as { file: string; articles: Article[]; chunks: StoredChunk[] };
  const articles = stored.articles.map((article) => {
    if (!article.paragraphs.every((p) => typeof p.text === 'number')) return article;
    let offset = 0;
    for (const p of article.paragraphs) {
      const length = p.text as unknown as number;
      p.text = article.text.slice(offset, offset + length);
      offset += length + 1;
    }
    return article;
  });
  const titles = new Map<Article, string>();
  const chunks = stored.chunks.map(({ c: [id, a, ordinal, start, end], t, x, f, o }) => {
    const article = articles[a];
    const fields = articleFields(article);
    if (f) for (const key of ARTICLE_FIELDS) if (key in f) fields[key] = f[key] ?? undefined;
    const text = t ?? derivedText(article, start, end)!;
    let title = article && !f ? titles.get(article) : undefined;
    if (title === undefined) {
      title = titleOf(fields.kicker, fields.headline!);
      if (article && !f) titles.set(article, title);
    }
    const chunk = {
      id,
      articleId: fields.articleId!,
      file: fields.file!,
      headline: fields.headline!,
      kind: fields.kind as Chunk['kind'],
      ordinal,
      text,
      indexText: x ?? title + '\n' + text,
      start,
      end,
    } as Chunk;
    if (fields.kicker !== undefined) chunk.kicker = fields.kicker;
    return o ? Object.assign(chunk, o) : chunk;
  });
  return { file: stored.file, articles, chunks };
}

export const BLOCK_BYTES = 8 * 1024 * 1024;

/** Reads byte ranges of a file in increasing order through one reused block buffer. */
export function blockReader(handle: FileHandle): (offset: number, length: number) => Promise<string> {
  let block = Buffer.allocUnsafe(BLOCK_BYTES);
  let blockStart = 0;
  let blockLength = 0;
  return async (offset, length) => {
    if (offset < blockStart || offset + length > blockStart + blockLength) {
      if (length > block.length) block = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(block, 0, block.length, offset);
      if (bytesRead < length) throw new Error('cut short');
      blockStart = offset;
      blockLength = bytesRead;
    }
    return block.toString('utf8', offset - blockStart, offset - blockStart + length);
  };
}

