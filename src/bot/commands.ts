// The command menu Telegram shows, per scope: what a private chat, a group and each admin can
// use. Telegram shows the narrowest scope that applies, so an admin's own list repeats the
// private one.
import type { Telegram } from 'telegraf';
import type { Logger } from '../log.ts';
import { setMyCommands, type BotCommand, type BotCommandScope } from './api.ts';

const START = { command: 'start', description: '介绍与示例问题' };
const HELP = { command: 'help', description: '使用说明' };
const NEW = { command: 'new', description: '开始新话题' };
const ASK = { command: 'ask', description: '提问，例如 /ask 上海建成了多少间职工休息室？' };
const REINDEX = { command: 'reindex', description: '重建索引（管理员）' };
const STATS = { command: 'stats', description: '运行状态（管理员）' };

export interface ScopedCommands {
  scope: BotCommandScope;
  commands: BotCommand[];
}

/** Private chats, groups, then each admin's private chat. */
export function commandScopes(adminUserIds: number[]): ScopedCommands[] {
  const personal = [START, HELP, NEW];
  return [
    { scope: { type: 'all_private_chats' }, commands: personal },
    { scope: { type: 'all_group_chats' }, commands: [ASK, HELP] },
    ...adminUserIds.map((id): ScopedCommands => ({ scope: { type: 'chat', chat_id: id }, commands: [...personal, REINDEX, STATS] })),
  ];
}

const scopeName = (scope: BotCommandScope) => ('chat_id' in scope ? `${scope.type} ${scope.chat_id}` : scope.type);

/** Sets every scope's menu, one call after another (a handful, once, before any update is
 * taken: no pacing needed). A failure is logged and never stops the bot; a server without the
 * method (an old self-hosted one) is told once. Returns the scopes that were set. */
export async function publishCommands(telegram: Telegram, adminUserIds: number[], logger: Logger): Promise<ScopedCommands[]> {
  const set: ScopedCommands[] = [];
  for (const entry of commandScopes(adminUserIds)) {
    try {
      await setMyCommands(telegram, entry.commands, entry.scope);
      set.push(entry);
    } catch (error) {
      const e = error as { response?: { error_code?: number; description?: string }; message?: string };
      const why = e.response?.description ?? e.message ?? String(error);
      // An admin who never opened a chat with the bot: Telegram answers "chat not found".
      logger.warn(`setMyCommands for ${scopeName(entry.scope)} failed (carrying on without that menu): ${why}`);
      // A 400 is about this scope alone; anything else (no such method, 5xx, no network) would
      // fail the rest the same way, so one line is enough.
      if (e.response?.error_code !== 400) break;
    }
  }
  return set;
}
