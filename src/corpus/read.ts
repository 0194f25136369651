import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import jschardet from 'jschardet';
import type { Page, PageWarning } from './types.ts';

export const PAGE_EXTENSIONS = ['.txt', '.md'];

export interface ReadOptions {
  maxPageBytes: number;
}

export interface ReadResult {
  pages: Page[];
  /** Pages skipped, and pages kept despite a problem (`kept: true`, see PageNotice). */
  warnings: PageWarning[];
}

/** A problem with a page that was read and indexed all the same (e.g. a few bad bytes). */
export interface PageNotice extends PageWarning {
  kept: true;
}

export const isPageNotice = (warning: PageWarning): warning is PageNotice => (warning as PageNotice).kept === true;

/** Lists page files under `dir` (recursively), sorted, as paths relative to `dir`. */
export async function listPageFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(sub: string): Promise<void> {
    const entries = await readdir(path.join(dir, sub), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else if (PAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) found.push(rel);
    }
  }
  await walk('');
  return found.sort();
}

/** Reads every page under `dir`. A bad page becomes a warning naming the file; the rest go on. A
 * page kept despite a problem (a few bad bytes) is read and also reported, with `kept: true`. */
export async function readPages(dir: string, options: ReadOptions): Promise<ReadResult> {
  const pages: Page[] = [];
  const warnings: PageWarning[] = [];
  let denied: NodeJS.ErrnoException | undefined;
  for (const file of await listPageFiles(dir)) {
    const read = await readOne(dir, file, options);
    if ('page' in read) {
      pages.push(read.page);
      if (read.notice) warnings.push(read.notice);
    } else {
      warnings.push(read.warning);
      denied ??= read.denied;
    }
  }
  // No page readable and some refused for permission: the folder is the operator's to fix (the
  // caller names CORPUS_DIR and the remedy), not page after page.
  if (pages.length === 0 && denied) throw denied;
  return { pages, warnings };
}

export async function readPage(dir: string, file: string, options: ReadOptions): Promise<Page | PageWarning> {
  const read = await readOne(dir, file, options);
  return 'page' in read ? read.page : read.warning;
}

type PageRead = { page: Page; notice?: PageNotice } | { warning: PageWarning; denied?: NodeJS.ErrnoException };

async function readOne(dir: string, file: string, options: ReadOptions): Promise<PageRead> {
  const full = path.join(dir, file);
  let bytes: Buffer;
  try {
    const info = await stat(full);
    if (info.size > options.maxPageBytes) {
      return { warning: { file, reason: `larger than MAX_PAGE_BYTES (${info.size} > ${options.maxPageBytes} bytes)` } };
    }
    bytes = await readFile(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const denied = code === 'EACCES' || code === 'EPERM' ? (error as NodeJS.ErrnoException) : undefined;
    return { warning: { file, reason: `cannot be read (${code ?? String(error)})` }, denied };
  }
  const decoded = decodePage(bytes);
  if ('reason' in decoded) return { warning: { file, reason: decoded.reason } };
  if (decoded.text.trim() === '') return { warning: { file, reason: 'is empty' } };
  const page = { file, text: decoded.text, encoding: decoded.encoding, bytes: bytes.length };
  return { page, notice: decoded.replaced ? { file, reason: replacedReason(decoded.replaced), kept: true } : undefined };
}

function replacedReason(count: number): string {
  const sequences = count === 1 ? '1 invalid UTF-8 byte sequence' : `${count} invalid UTF-8 byte sequences`;
  return `${sequences} replaced with U+FFFD; the rest of the page is indexed. To recover those characters, save the page again as UTF-8 and reindex.`;
}

export type DecodedPage = { text: string; encoding: string; replaced?: number } | { reason: string };

/** UTF-8 when the bytes are valid UTF-8, or UTF-8 but for a few bad sequences (then `replaced`
 * counts the U+FFFD put in their place); otherwise GB18030 (a superset of GBK and GB2312) when
 * a detector says so or when the GB18030 reading is mostly Chinese. Anything else is refused
 * rather than guessed. */
export function decodePage(bytes: Buffer): DecodedPage {
  if (bytes.length === 0) return { reason: 'is empty' };
  if (looksBinary(bytes)) return { reason: 'is binary, not a text page' };
  let body = bytes;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  try {
    return { text: normalizeNewlines(new TextDecoder('utf-8', { fatal: true }).decode(body)), encoding: 'utf-8' };
  } catch {
    // not valid UTF-8: nearly UTF-8, or one of the Chinese legacy encodings below
  }
  const utf8 = lossyUtf8(body);
  const gbText = iconv.decode(body, 'gb18030');
  if (utf8.clearly && countReplacements(gbText) >= utf8.replaced) {
    return { text: normalizeNewlines(utf8.text), encoding: 'utf-8', replaced: utf8.replaced };
  }
  const guess = jschardet.detect(body);
  const saysGb = /^(gb2312|gbk|gb18030|x-gbk)$/i.test(guess.encoding ?? '');
  if (saysGb || mostlyChinese(gbText)) return { text: normalizeNewlines(gbText), encoding: 'gb18030' };
  return { reason: `is not UTF-8 or GB18030 text (${utf8.replaced} invalid UTF-8 byte sequences; detector says ${guess.encoding ?? 'unknown'})` };
}

/** UTF-8 with a few bad bytes: at most 1% of the characters are replacements (at least one is
 * allowed, for short pages) and at most 2% of the non-ASCII bytes are invalid. A GBK page misread
 * as UTF-8 has over half its non-ASCII bytes invalid, a Latin-1 one nearly all; one bad byte in a
 * Chinese page is well under 1%. An ASCII page with one stray byte is no evidence of UTF-8. */
const MAX_REPLACED_SHARE = 0.01;
const MAX_INVALID_HIGH_SHARE = 0.02;

/** The text with U+FFFD for each invalid sequence, how many were replaced, and whether the rest
 * is clearly UTF-8 (see MAX_REPLACED_SHARE). */
function lossyUtf8(body: Buffer): { text: string; replaced: number; clearly: boolean } {
  const text = new TextDecoder('utf-8').decode(body);
  const genuine = countGenuineReplacements(body); // U+FFFD written in the page itself
  const replaced = countReplacements(text) - genuine;
  const highBytes = body.reduce((n, b) => n + (b >= 0x80 ? 1 : 0), 0);
  // Invalid sequences never swallow ASCII bytes, so every invalid byte is a non-ASCII one.
  const invalidHighBytes = highBytes - Buffer.byteLength(text.replace(/[\x00-\x7f\ufffd]/g, '')) - 3 * genuine;
  const clearly = replaced <= Math.max(1, text.length * MAX_REPLACED_SHARE) && invalidHighBytes <= highBytes * MAX_INVALID_HIGH_SHARE;
  return { text, replaced, clearly };
}

function countReplacements(text: string): number {
  return text.match(/\ufffd/g)?.length ?? 0;
}

function countGenuineReplacements(body: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(REPLACEMENT_BYTES); at !== -1; at = body.indexOf(REPLACEMENT_BYTES, at + 3)) count++;
  return count;
}

const REPLACEMENT_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);

function looksBinary(bytes: Buffer): boolean {
  const sample = bytes.subarray(0, 8192);
  let control = 0;
  for (const b of sample) {
    if (b === 0) return true;
    if (b < 0x09 || (b > 0x0d && b < 0x20)) control++;
  }
  return control / sample.length > 0.05;
}

function mostlyChinese(text: string): boolean {
  const letters = text.replace(/[\s\p{P}\p{N}]/gu, '');
  if (letters.length === 0) return false;
  const han = letters.match(/\p{Script=Han}/gu)?.length ?? 0;
  return han / letters.length > 0.6 && !text.includes('\ufffd');
}

function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}
