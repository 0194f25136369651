// Admins (ADMIN_USER_IDS): /reindex, /stats, and .txt/.md pages sent as documents.
import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Composer, type Context } from 'telegraf';
import { decodePage, PAGE_EXTENSIONS } from '../../corpus/read.ts';
import { explainFolderError, isOperatorError, OperatorError, type OperatorErrorCode } from '../../errors.ts';
import type { ReindexSummary } from '../../index/backend.ts';
import { ReindexBusyError, type BuildProgress } from '../../index/store.ts';
import type { BotState } from '../context.ts';
import { escapeHtml } from '../render.ts';
import { sendText, type MessageOptions } from '../send.ts';
import { QUESTIONS_ANSWERED, threadOfUpdate } from './ask.ts';

const NOT_ADMIN = '抱歉，这个命令只有管理员可以使用。';
const PHASES: Record<BuildProgress['phase'], string> = {
  reading: '读取版面',
  embedding: '生成向量',
  indexing: '建立索引',
  saving: '保存索引',
  done: '完成',
};

/** Admins read Chinese; the operator's English remedy goes to the log. */
const ADMIN_CAUSES: Record<OperatorErrorCode, string> = {
  FOLDER_NOT_WRITABLE: '服务器上的目录没有写权限',
  FOLDER_NOT_READABLE: '服务器上的目录没有读权限',
  FOLDER_READ_ONLY: '服务器上的目录位于只读文件系统',
  NOT_A_FOLDER: '配置的目录路径实际上是一个文件',
  DISK_FULL: '服务器磁盘已满',
  NETWORK_UNREACHABLE: '服务器暂时无法连接网络',
  CORPUS_MOSTLY_MISSING: '版面目录缺少数据库中的大部分版面（共享目录可能未挂载），为免所有副本误删已停止重建',
};

/** Why an admin's action failed, in Chinese, naming the folder for the operator to fix. */
export function adminReason(error: unknown): string {
  if (error instanceof OperatorError && error.code) {
    const folder = /^(?:The disk holding )?([A-Z_]+=\S+)/.exec(error.message)?.[1];
    return `${ADMIN_CAUSES[error.code]}${folder ? `（${folder}）` : ''}，请联系运维人员处理（详见日志）。`;
  }
  return isOperatorError(error) ? (error as Error).message : '内部错误，详见日志';
}

/** A page name that is safe to write into CORPUS_DIR: no directories, no hidden files, an
 * allowed extension, only letters, digits, CJK, '-', '_' and '.'. */
export function safePageName(original: string): string | undefined {
  const base = path.basename(original.replace(/\\/g, '/')).normalize('NFC');
  const extension = path.extname(base).toLowerCase();
  if (!PAGE_EXTENSIONS.includes(extension)) return undefined;
  const stem = base.slice(0, -extension.length).replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^[._]+/, '').slice(0, 80);
  return stem ? `${stem}${extension}` : undefined;
}

export function adminComposer(state: BotState): Composer<Context> {
  const composer = new Composer<Context>();
  const isAdmin = (ctx: Context) => ctx.from !== undefined && state.config.telegram.adminUserIds.includes(ctx.from.id);
  // In a forum, replies go to the topic the admin wrote in.
  const say = (ctx: Context, text: string, label = 'admin reply', extra: MessageOptions = {}) =>
    sendText(state.outbox, ctx.chat!.id, text, { threadId: threadOfUpdate(ctx), ...extra }, label);

  // Claimed at once: Telegraf handles a batch of updates concurrently, so two /reindex commands
  // can arrive together.
  let reindexClaimed = false;
  composer.command('reindex', (ctx) => {
    if (!isAdmin(ctx)) return void say(ctx, NOT_ADMIN);
    if (reindexClaimed || state.index.isReindexing) return void say(ctx, '正在重建索引，请等这一次完成后再试。');
    reindexClaimed = true;
    // Off the update loop: questions, here too, keep being answered from the old index meanwhile.
    // Not waited for at shutdown: a build cut short is cleared and told to the admin at start.
    void reindex(state, ctx.chat.id, threadOfUpdate(ctx)).finally(() => (reindexClaimed = false));
  });

  composer.command('stats', async (ctx) => {
    if (!isAdmin(ctx)) return void say(ctx, NOT_ADMIN);
    void say(ctx, await statsHtml(state), '/stats', { html: true });
  });

  composer.on('document', (ctx) => {
    if (!isAdmin(ctx)) return void say(ctx, '抱歉，只有管理员可以上传版面文件。');
    // The download and the write happen off the update loop.
    state.tasks.track(receivePage(state, ctx, ctx.message.document));
  });

  // Taken from the state store, so that the 覆盖 press may land on another replica, and only once.
  composer.action(/^upload:(yes|no):([0-9a-f]+)$/, async (ctx) => {
    const [, choice, id] = ctx.match;
    const upload = isAdmin(ctx) ? await state.stateStore.takeUpload(id, ctx.from!.id) : undefined;
    void state.outbox.send(ctx.chat!.id, 'button answer', () => ctx.answerCbQuery(upload ? undefined : '这个操作已失效。'), { kind: 'light' });
    if (!upload) return;
    const edit = (text: string) => void state.outbox.send(ctx.chat!.id, 'upload status', () => ctx.editMessageText(text));
    if (choice === 'no') return edit(`已取消，${upload.name} 保持不变。`);
    state.tasks.track(
      savePage(state, upload.name, upload.bytes, ctx).then(async (saved) => saved && edit(`已覆盖版面 ${upload.name}。${await ingestUpload(state, upload.name)}`)),
    );
  });

  return composer;
}

/** Rebuilds the index, reporting progress by editing one message (at most every 1.5 s). */
async function reindex(state: BotState, chatId: number, threadId?: number): Promise<void> {
  const status = await sendText(state.outbox, chatId, '开始重建索引……', { threadId }, 'reindex status');
  let lastEdit = 0;
  let lastText = status?.text;
  const edit = (text: string, force = false) => {
    if (!status) return force ? sendText(state.outbox, chatId, text, { threadId }, 'reindex status') : Promise.resolve();
    if (text === lastText || (!force && Date.now() - lastEdit < 1500)) return Promise.resolve();
    lastEdit = Date.now();
    lastText = text;
    return state.outbox.send(chatId, 'reindex status', (telegram) => telegram.editMessageText(chatId, status.message_id, undefined, text));
  };
  try {
    // The topic too: a bot restarted after a crash tells the admin there (run.ts).
    const requestedBy = { chatId, ...(status ? { messageId: status.message_id } : {}), ...(threadId ? { threadId } : {}) };
    const summary = await state.index.reindex((p) => {
      const share = p.total > 0 && p.phase === 'embedding' ? ` ${p.done}/${p.total}` : '';
      void edit(`正在重建索引：${PHASES[p.phase]}${share}……`);
    }, { requestedBy });
    await edit(reindexReport(summary), true);
  } catch (error) {
    if (error instanceof ReindexBusyError) return void (await edit('另一个进程正在重建索引，请等它完成后再试。', true));
    state.logger.error(`Reindex requested in chat ${chatId} failed: ${(error as Error).message}`);
    await edit(`重建索引失败，原有索引继续使用。原因：${adminReason(error)}`, true);
  }
}

/** What a reindex did, for the admin. */
export function reindexReport(summary: ReindexSummary): string {
  const { counts, changed } = summary;
  const details = [
    `新增 ${changed.added} 个、更新 ${changed.replaced} 个、删除 ${changed.removed} 个版面`,
    summary.reusedVectors !== undefined ? `复用 ${summary.reusedVectors} 个向量` : '',
    summary.skippedPages ? `跳过 ${summary.skippedPages} 个无法读取的文件` : '',
    summary.garbledPages ? `${summary.garbledPages} 个版面中的少量乱码已替换为 �` : '',
  ].filter(Boolean);
  return (
    `索引已更新：${counts.pages} 个版面、${counts.articles} 篇报道、${counts.chunks} 个片段，用时 ${summary.seconds.toFixed(1)} 秒（${details.join('，')}）。` +
    (summary.denseNotice ? '\n注意：嵌入模型不可用，本次只建立了关键词索引。' : '')
  );
}

/** Indexes an uploaded page at once where the backend writes page by page (DATABASE_URL): every
 * replica answers from it without a reindex. Returns the sentence for the admin. */
async function ingestUpload(state: BotState, name: string): Promise<string> {
  if (!state.index.ingestPages) return '发送 /reindex 更新索引。';
  try {
    const summary = await state.index.ingestPages([name]);
    if (summary.skippedPages) return '但无法从中识别出报道，未收录。';
    return `已收录，现在可以就它提问（共 ${summary.counts.pages} 个版面、${summary.counts.articles} 篇报道）。`;
  } catch (error) {
    if (error instanceof ReindexBusyError) return '正在重建索引，暂未收录：请在完成后发送 /reindex。';
    state.logger.error(`Could not index the uploaded page ${name}: ${(error as Error).message}`);
    return `收录失败：${adminReason(error)} 可稍后发送 /reindex 重试。`;
  }
}

/** The 👎 listed in /stats: enough to spot a pattern, short enough to read at a glance. */
const RECENT_DOWNVOTES = 5;
const QUESTION_CHARS = 40;

/** Votes on answers for /stats: the counts, then the latest 👎 with their questions. A store
 * that fails here costs these lines, not the rest of /stats. */
export async function feedbackLines(state: Pick<BotState, 'stateStore' | 'logger'>): Promise<string[]> {
  try {
    const feedback = state.stateStore.feedback;
    const [counts, downs] = await Promise.all([feedback.counts(), feedback.recent('down', RECENT_DOWNVOTES)]);
    const trim = (text: string) => (text.length > QUESTION_CHARS ? `${text.slice(0, QUESTION_CHARS)}…` : text);
    const lines = [`回答评价：👍 ${counts.up} · 👎 ${counts.down}`];
    if (downs.length) lines.push(`最近的 👎：`, ...downs.map((v) => `• ${escapeHtml(trim(v.question.replace(/\s+/g, ' ')) || '（问题未记录）')}`));
    return lines;
  } catch (error) {
    state.logger.warn(`Could not read the votes on answers: ${(error as Error).message}`);
    return ['回答评价：暂时无法读取'];
  }
}

async function statsHtml(state: BotState): Promise<string> {
  const [status, answered, feedback] = await Promise.all([state.index.status(), state.stateStore.counter(QUESTIONS_ANSWERED), feedbackLines(state)]);
  const uptime = Math.round((Date.now() - state.stats.startedAt) / 1000);
  const store = status.backend === 'postgres' ? 'PostgreSQL' : '本地';
  return [
    '<b>运行状态</b>',
    `索引（${store}）：${status.pages} 个版面 · ${status.articles} 篇报道 · ${status.chunks} 个片段`,
    `嵌入模型：${escapeHtml(status.embedding ? `${status.embedding.model}（${status.embedding.dimension} 维）` : '不可用（仅关键词检索）')}`,
    `回答方式：${escapeHtml(state.answerer.mode === 'llm' ? `大模型 ${state.config.llm?.model ?? ''}` : '摘录式（未配置大模型）')}`,
    `索引更新于：${escapeHtml(status.updatedAt.replace('T', ' ').replace(/\..+/, ' UTC'))}${status.codeVersion ? `（代码版本 ${escapeHtml(status.codeVersion)}）` : ''}`,
    `运行时间：${Math.floor(uptime / 3600)} 小时 ${Math.floor((uptime % 3600) / 60)} 分 ${uptime % 60} 秒`,
    `已回答问题：${answered}${state.stateStore.backend === 'postgres' ? '（所有副本）' : ''}；排队中：${state.tasks.waitingCount}`,
    state.outbox.failures.gaveUp || state.outbox.failures.blocked
      ? `未送达消息：${state.outbox.failures.gaveUp}（另有 ${state.outbox.failures.blocked} 条因用户屏蔽）`
      : '',
    ...feedback,
    state.index.isReindexing ? '正在重建索引。' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

type Document = { file_id: string; file_name?: string; file_size?: number };

/** Checks, downloads and saves an admin's page, or asks before overwriting one of the same name. */
async function receivePage(state: BotState, ctx: Context, document: Document): Promise<void> {
  const say = (text: string, extra: MessageOptions = {}) => sendText(state.outbox, ctx.chat!.id, text, { threadId: threadOfUpdate(ctx), ...extra }, 'upload reply');
  const name = safePageName(document.file_name ?? '');
  if (!name) return void say('只接受 .txt 或 .md 格式的版面文件，文件名请使用字母、数字或汉字。');
  const limit = state.config.maxPageBytes;
  if ((document.file_size ?? 0) > limit) return void say(`文件太大（${document.file_size} 字节），上限是 ${limit} 字节。`);
  const bytes = await download(state, ctx.chat!.id, document);
  if (!bytes) return void say('下载文件失败，请稍后重新发送。');
  if (bytes.length > limit) return void say(`文件太大（${bytes.length} 字节），上限是 ${limit} 字节。`);
  const decoded = decodePage(bytes);
  if ('reason' in decoded || !decoded.text.trim()) return void say('无法读取这个文件：请发送 UTF-8 或 GBK 编码、内容不为空的文本版面。');
  if (existsSync(path.join(state.config.corpusDir, name))) {
    let id: string;
    try {
      id = await state.stateStore.putUpload({ name, bytes, userId: ctx.from!.id });
    } catch (error) {
      state.logger.error(`Could not keep the upload ${name} for confirmation: ${(error as Error).message}`);
      return void say('暂时无法保存这个上传，请稍后重新发送。');
    }
    const keyboard = [[{ text: '覆盖', callback_data: `upload:yes:${id}` }, { text: '取消', callback_data: `upload:no:${id}` }]];
    return void say(`语料中已有同名版面 ${name}，要覆盖吗？`, { keyboard });
  }
  if (!(await savePage(state, name, bytes, ctx))) return;
  void say(`已保存版面 ${name}（${decoded.encoding === 'utf-8' ? 'UTF-8' : 'GBK/GB18030'}）。${await ingestUpload(state, name)}`);
}

async function download(state: BotState, chatId: number, document: Document): Promise<Buffer | undefined> {
  try {
    const link = await state.outbox.send(chatId, 'file link', (telegram) => telegram.getFileLink(document.file_id), { kind: 'light' });
    if (!link) throw new Error('no file link');
    const response = await fetch(link, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    state.logger.warn(`Could not download document ${document.file_name}: ${(error as Error).message}`);
    return undefined;
  }
}

/** Written beside the target and renamed into place: a half-written page is never read. A
 * folder the bot cannot write is told to the admin in Chinese and to the log in English. */
async function savePage(state: BotState, name: string, bytes: Buffer, ctx: Context): Promise<boolean> {
  const { corpusDir } = state.config;
  const target = path.join(corpusDir, name);
  const temporary = path.join(corpusDir, `.${name}.${process.pid}.upload`);
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    const explained = explainFolderError(error, { CORPUS_DIR: { dir: corpusDir, need: 'write' } });
    state.logger.error(`Could not save the uploaded page ${name}: ${(explained as Error).message}`);
    void sendText(state.outbox, ctx.chat!.id, `无法保存版面 ${name}：${adminReason(explained)}`, { threadId: threadOfUpdate(ctx) }, 'upload reply');
    return false;
  }
  state.logger.info(`Saved uploaded page ${name} (${bytes.length} bytes)`);
  return true;
}
