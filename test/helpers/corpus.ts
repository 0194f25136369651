// A private copy of the seed pages for a test file, with extra pages if it needs them.
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './tmp.ts';

export interface SeedCorpus {
  root: string;
  corpusDir: string;
  indexDir: string;
  /** CORPUS_DIR and INDEX_DIR, for testConfig() or a child process's environment. */
  env: { CORPUS_DIR: string; INDEX_DIR: string };
}

export function seedCorpus(extraPages: Record<string, string> = {}): SeedCorpus {
  const root = tempDir();
  const corpusDir = path.join(root, 'corpus');
  const indexDir = path.join(root, 'index');
  cpSync(path.resolve('seeds'), corpusDir, { recursive: true });
  for (const [name, text] of Object.entries(extraPages)) writeFileSync(path.join(corpusDir, name), text);
  return { root, corpusDir, indexDir, env: { CORPUS_DIR: corpusDir, INDEX_DIR: indexDir } };
}
