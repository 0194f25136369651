import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { explainFolderError, OperatorError, redactSecrets } from '../../src/errors.ts';
import { explainDatabaseError } from '../../src/index/postgres/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const errno = (code: string, syscall: string, p: string) => Object.assign(new Error(`${code}: ${syscall} '${p}'`), { code, syscall, path: p });
const folders = { INDEX_DIR: { dir: '/srv/bot/index', need: 'write' as const }, CORPUS_DIR: { dir: '/srv/bot/pages', need: 'read' as const } };

test('a permission error names the variable, the folder, the user and the permission it needs', () => {
  const write = explainFolderError(errno('EACCES', 'mkdir', '/srv/bot/index/builds'), folders);
  assert.ok(write instanceof OperatorError);
  assert.equal(write.code, 'FOLDER_NOT_WRITABLE');
  assert.match(write.message, /^INDEX_DIR=\/srv\/bot\/index is not writable by the user running the bot \(\S+ uid \d+; mkdir \/srv\/bot\/index\/builds: EACCES\)\. Give that user write permission, e\.g\. `sudo install -d -o \S+ \/srv\/bot\/index`/);
  const read = explainFolderError(errno('EPERM', 'scandir', '/srv/bot/pages'), folders) as OperatorError;
  assert.equal(read.code, 'FOLDER_NOT_READABLE');
  assert.match(read.message, /^CORPUS_DIR=\/srv\/bot\/pages is not readable .* Give that user read permission/);
});

test('a read-only file system, a full disk and a file in the way each get their own remedy', () => {
  const readOnly = explainFolderError(errno('EROFS', 'open', '/srv/bot/index/reindex.lock'), folders) as OperatorError;
  assert.equal(readOnly.code, 'FOLDER_READ_ONLY');
  assert.match(readOnly.message, /INDEX_DIR=\/srv\/bot\/index is on a read-only file system .*ReadWritePaths=/);
  const full = explainFolderError(errno('ENOSPC', 'write', '/srv/bot/index/builds/x.partial/chunks.json'), folders) as OperatorError;
  assert.equal(full.code, 'DISK_FULL');
  assert.match(full.message, /disk holding INDEX_DIR=\/srv\/bot\/index is full/);
  const file = explainFolderError(errno('ENOTDIR', 'mkdir', '/srv/bot/index/builds'), folders) as OperatorError;
  assert.equal(file.code, 'NOT_A_FOLDER');
  assert.match(file.message, /INDEX_DIR=\/srv\/bot\/index must be a folder/);
});

test('errors outside the configured folders, and bugs, pass through unchanged', () => {
  const elsewhere = errno('EACCES', 'open', '/etc/shadow');
  assert.equal(explainFolderError(elsewhere, folders), elsewhere);
  const bug = new TypeError('x is undefined');
  assert.equal(explainFolderError(bug, folders), bug);
  const missing = errno('ENOENT', 'open', '/srv/bot/index/current');
  assert.equal(explainFolderError(missing, folders), missing);
});

test('a real ENOTDIR from mkdir under a file is explained', async () => {
  const root = tempDir();
  const file = path.join(root, 'not-a-folder');
  await writeFile(file, 'x');
  const error = await mkdir(path.join(file, 'builds'), { recursive: true }).catch((e: unknown) => e);
  const explained = explainFolderError(error, { INDEX_DIR: { dir: file, need: 'write' } }) as OperatorError;
  assert.equal(explained.code, 'NOT_A_FOLDER');
});

test('admins hear the cause in Chinese, with the folder to fix; other operator errors keep their text', async () => {
  const { adminReason } = await import('../../src/bot/handlers/admin.ts');
  const denied = explainFolderError(errno('EACCES', 'open', '/srv/bot/pages/.a.txt.1.upload'), { CORPUS_DIR: { dir: '/srv/bot/pages', need: 'write' } });
  assert.equal(adminReason(denied), '服务器上的目录没有写权限（CORPUS_DIR=/srv/bot/pages），请联系运维人员处理（详见日志）。');
  assert.equal(adminReason(explainFolderError(errno('ENOSPC', 'write', '/srv/bot/index/x'), folders)), '服务器磁盘已满（INDEX_DIR=/srv/bot/index），请联系运维人员处理（详见日志）。');
  assert.equal(adminReason(new OperatorError('CORPUS_DIR has no articles.')), 'CORPUS_DIR has no articles.');
  const purge = new OperatorError('CORPUS_DIR=/srv/bot/pages lacks 40 of the 50 pages in DATABASE_URL; …', 'CORPUS_MOSTLY_MISSING');
  assert.equal(adminReason(purge), '版面目录缺少数据库中的大部分版面（共享目录可能未挂载），为免所有副本误删已停止重建（CORPUS_DIR=/srv/bot/pages），请联系运维人员处理（详见日志）。');
  assert.equal(adminReason(new Error('bug')), '内部错误，详见日志');
});

test('bot tokens and proxy passwords are blanked in anything printed', () => {
  assert.equal(
    redactSecrets('request to https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe failed via http://user:s3cret@proxy:8080'),
    'request to https://api.telegram.org/bot<token>/getMe failed via http://***@proxy:8080',
  );
});

test('a database without an extension the index needs names the extension and how to get it', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
  const contrib = explainDatabaseError(pgError('58P01', 'could not open extension control file "/usr/share/postgresql/15/extension/intarray.control": No such file or directory'), 'db:5432');
  assert.ok(contrib instanceof OperatorError);
  assert.match(contrib.message, /^PostgreSQL at DATABASE_URL=db:5432 has no intarray .* install PostgreSQL's contrib modules/);
  const vector = explainDatabaseError(pgError('0A000', 'extension "vector" is not available'), 'db:5432') as OperatorError;
  assert.match(vector.message, /has no pgvector .* postgresql-15-pgvector/);
  const denied = explainDatabaseError(pgError('42501', 'permission denied to create extension "intarray"'), 'db:5432') as OperatorError;
  assert.match(denied.message, /Run CREATE EXTENSION intarray once as a superuser/);
  const other = pgError('23505', 'duplicate key value');
  assert.equal(explainDatabaseError(other, 'db:5432'), other);
});
