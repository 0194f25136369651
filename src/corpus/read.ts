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
  warnings: PageWarning[];
}

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

/** Reads every page under `dir`. A bad page becomes a warning naming the file; the rest go on. */
export async function readPages(dir: string, options: ReadOptions): Promise<ReadResult> {
  const pages: Page[] = [];
  const warnings: PageWarning[] = [];
  for (const file of await listPageFiles(dir)) {
    const result = await readPage(dir, file, options);
    if ('reason' in result) warnings.push(result);
    else pages.push(result);
  }
  return { pages, warnings };
}

export async function readPage(dir: string, file: string, options: ReadOptions): Promise<Page | PageWarning> {
  const full = path.join(dir, file);
  let bytes: Buffer;
  try {
    const info = await stat(full);
    if (info.size > options.maxPageBytes) {
      return { file, reason: `larger than MAX_PAGE_BYTES (${info.size} > ${options.maxPageBytes} bytes)` };
    }
    bytes = await readFile(full);
  } catch (error) {
    return { file, reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const decoded = decodePage(bytes);
  if ('reason' in decoded) return { file, reason: decoded.reason };
  if (decoded.text.trim() === '') return { file, reason: 'is empty' };
  return { file, text: decoded.text, encoding: decoded.encoding, bytes: bytes.length };
}

/** UTF-8 when the bytes are valid UTF-8; otherwise GB18030 (a superset of GBK and GB2312) when
 * a detector says so or when the GB18030 reading is mostly Chinese. Anything else is refused
 * rather than guessed. */
export function decodePage(bytes: Buffer): { text: string; encoding: string } | { reason: string } {
  if (bytes.length === 0) return { reason: 'is empty' };
  if (looksBinary(bytes)) return { reason: 'is binary, not a text page' };
  let body = bytes;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  try {
    return { text: normalizeNewlines(new TextDecoder('utf-8', { fatal: true }).decode(body)), encoding: 'utf-8' };
  } catch {
    // not UTF-8: try the Chinese legacy encodings below
  }
  const guess = jschardet.detect(body);
  const gbText = iconv.decode(body, 'gb18030');
  const saysGb = /^(gb2312|gbk|gb18030|x-gbk)$/i.test(guess.encoding ?? '');
  if (saysGb || mostlyChinese(gbText)) return { text: normalizeNewlines(gbText), encoding: 'gb18030' };
  return { reason: `is not UTF-8 or GB18030 text (detector says ${guess.encoding ?? 'unknown'})` };
}

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
