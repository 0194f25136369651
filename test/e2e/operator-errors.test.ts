// Operator mistakes with folders, as a real process meets them: each exits 1 with one line that
// names the variable and the fix, never "Unexpected error" or a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { IndexService } from '../../src/index/service.ts';
import { testConfig } from '../helpers/config.ts';
import { seedCorpus } from '../helpers/corpus.ts';

// Root may write anywhere: as root the tool runs without the capabilities that bypass file
// permissions (setpriv, from util-linux), so it meets them as a service user would. (Running it
// as another user instead fails wherever the checkout itself is private, as in a mktemp -d clone.)
const asRoot = process.getuid?.() === 0;
const command = asRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath] : [process.execPath];

function reindex(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), '--import', 'tsx', 'src/cli/reindex.ts'], {
      env: { PATH: process.env.PATH, HOME: env.HOME ?? '/tmp', LOG_LEVEL: 'warn', EMBEDDING_MODEL_PATH: path.join(env.HOME ?? '/tmp', 'no-model'), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A folder the tool may write. */
function writableFolder(dir: string): string {
  mkdirSync(dir);
  return dir;
}


const oneLineRemedy = (stderr: string) => {
  assert.doesNotMatch(stderr, /Unexpected error/);
  assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
};

test('INDEX_DIR that the user cannot write: named, with the permission it needs', { timeout: 90_000 }, async () => {
  const { root, env } = seedCorpus();
  const locked = path.join(root, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  const { code, stderr } = await reindex({ ...env, HOME: root, INDEX_DIR: path.join(locked, 'index') });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /INDEX_DIR=.*locked\/index is not writable by the user running the bot \(.*EACCES\)\. Give that user write permission/);
  oneLineRemedy(stderr);
});

test('CORPUS_DIR that the user cannot read: named, with the permission it needs', { timeout: 90_000 }, async () => {
  const { root, env, corpusDir } = seedCorpus();
  chmodSync(corpusDir, 0o000);
  try {
    const { code, stderr } = await reindex({ ...env, HOME: root, INDEX_DIR: writableFolder(path.join(root, 'index')) });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /CORPUS_DIR=.*corpus is not readable by the user running the bot \(.*EACCES\)\. Give that user read permission/);
    oneLineRemedy(stderr);
  } finally {
    chmodSync(corpusDir, 0o755);
  }
});

test('INDEX_DIR that is a file: named, and told to be a folder', { timeout: 90_000 }, async () => {
  const { root, env } = seedCorpus();
  const file = path.join(root, 'index-file');
  writeFileSync(file, 'not a folder');
  chmodSync(file, 0o666);
  const { code, stderr } = await reindex({ ...env, HOME: root, INDEX_DIR: file });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /INDEX_DIR=.*index-file must be a folder/);
  oneLineRemedy(stderr);
});

test('a changed CORPUS_DIR, or pages added to it, rebuilds the index at start instead of answering from the old pages', { timeout: 90_000 }, async () => {
  const { root, env } = seedCorpus();
  const indexDir = path.join(root, 'shared-index');
  const first = await new IndexService(testConfig({ ...env, INDEX_DIR: indexDir }), undefined).loadOrBuild();
  assert.equal(first.manifest.counts.pages, 5);
  assert.equal(first.manifest.corpusDir, env.CORPUS_DIR);

  const onePage = path.join(root, 'one-page');
  mkdirSync(onePage);
  writeFileSync(path.join(onePage, 'a.txt'), '本报讯（记者王伟）某市总工会日前为 300 名环卫工人送去清凉用品，活动持续一个月。\n');
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => void warnings.push(m) };
  const moved = await new IndexService(testConfig({ CORPUS_DIR: onePage, INDEX_DIR: indexDir }), undefined, logger).loadOrBuild();
  assert.equal(moved.manifest.counts.pages, 1);
  assert.equal(moved.manifest.corpusDir, onePage);
  assert.match(warnings.join('\n'), /was built from CORPUS_DIR=.*corpus, but CORPUS_DIR is now .*one-page: rebuilding it/);

  writeFileSync(path.join(onePage, 'b.txt'), '本报讯（记者李明）某区工会日前举办职工运动会，共有 500 名职工参加。\n');
  const grown = await new IndexService(testConfig({ CORPUS_DIR: onePage, INDEX_DIR: indexDir }), undefined, logger).loadOrBuild();
  assert.equal(grown.manifest.counts.pages, 2);
  assert.match(warnings.join('\n'), /has 1 pages added and 0 removed since the index/);
  const same = await new IndexService(testConfig({ CORPUS_DIR: onePage, INDEX_DIR: indexDir }), undefined, logger).loadOrBuild();
  assert.equal(same.manifest.buildId, grown.manifest.buildId, 'an unchanged folder is not rebuilt');
});
