// Bot API methods newer than telegraf's types (they stop at Bot API 7.1), with our own types,
// reached through telegram.callApi. The rest of the bot calls these methods only through here,
// and only inside an outbox job (outbox.ts) or at start-up, so pacing and 429s stay in one place.
import type { Telegram } from 'telegraf';

/** The emoji Telegram accepts as a reaction (Bot API 7.0 lists them); the few we use. */
export type ReactionEmoji = '👀' | '👌' | '👍' | '🤔' | '✍';

export type ReactionType = { type: 'emoji'; emoji: ReactionEmoji } | { type: 'custom_emoji'; custom_emoji_id: string } | { type: 'paid' };

/** Who sees a list of commands (Bot API 6.x: BotCommandScope). The narrowest scope wins. */
export type BotCommandScope =
  | { type: 'default' }
  | { type: 'all_private_chats' }
  | { type: 'all_group_chats' }
  | { type: 'all_chat_administrators' }
  | { type: 'chat'; chat_id: number | string }
  | { type: 'chat_administrators'; chat_id: number | string }
  | { type: 'chat_member'; chat_id: number | string; user_id: number };

export interface BotCommand {
  /** 1–32 characters: lowercase letters, digits and underscores. */
  command: string;
  /** 1–256 characters. */
  description: string;
}

/** Each method's parameters and result, as the Bot API documents them. */
interface Methods {
  setMessageReaction: {
    params: { chat_id: number | string; message_id: number; reaction?: ReactionType[]; is_big?: boolean };
    result: true;
  };
  setMyCommands: {
    params: { commands: BotCommand[]; scope?: BotCommandScope; language_code?: string };
    result: true;
  };
  /** Bot API 9.5: a private chat's preview of a message being written, ephemeral (about 30 s)
   * until sendMessage persists the real one. Same draft_id: the change is animated. */
  sendMessageDraft: {
    params: { chat_id: number; draft_id: number; text: string; message_thread_id?: number; parse_mode?: 'HTML' };
    result: true;
  };
}

type CallApi = (method: string, payload: unknown) => Promise<unknown>;

/** One typed call; errors are telegraf's (TelegramError with response.error_code). */
export function callBotApi<M extends keyof Methods>(telegram: Telegram, method: M, params: Methods[M]['params']): Promise<Methods[M]['result']> {
  // callApi is typed against telegraf's own method list, which is what we are going past.
  return (telegram.callApi as unknown as CallApi).call(telegram, method, params) as Promise<Methods[M]['result']>;
}

/** Sets the bot's reaction on a message; an empty list removes it. */
export function setMessageReaction(telegram: Telegram, chatId: number | string, messageId: number, reaction: ReactionType[]): Promise<true> {
  return callBotApi(telegram, 'setMessageReaction', { chat_id: chatId, message_id: messageId, reaction });
}

export function setMyCommands(telegram: Telegram, commands: BotCommand[], scope: BotCommandScope): Promise<true> {
  return callBotApi(telegram, 'setMyCommands', { commands, scope });
}

export function sendMessageDraft(telegram: Telegram, params: Methods['sendMessageDraft']['params']): Promise<true> {
  return callBotApi(telegram, 'sendMessageDraft', params);
}
