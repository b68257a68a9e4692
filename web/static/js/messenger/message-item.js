// One message of a thread as a list item: who and when, a quote of the
// message it answers, the text (links clickable, nothing else ever markup),
// images shown and other files as downloads, reactions, the "Seen" line,
// and its actions (react, reply, edit, delete) behind one button. Also the
// items of the outbox: messages still on their way.

import { el } from '../components/dom.js';
import { icon } from '../components/icon.js';
import { popoverMenu } from '../components/popover-menu.js';
import { fileSize, isPreviewableImage, linkifiedText } from './format.js';

/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').Attachment} Attachment */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../realtime/outbox.js').OutboxEntry} OutboxEntry */

/** The reactions offered; any emoji others chose is shown too. */
export const reactionChoices = ['👍', '❤️', '😂', '😮', '😢', '🎉'];

/**
 * @typedef {Object} MessageActions
 * @property {(message: Message) => void} reply
 * @property {(message: Message) => void} edit
 * @property {(message: Message) => void} remove
 * @property {(message: Message, emoji: string) => void} react
 * @property {(messageId: string) => void} jumpTo
 */

/**
 * @typedef {Object} MessageView
 * @property {Message} message
 * @property {boolean} own
 * @property {string} senderName
 * @property {boolean} showSender a group, and not a run of the same sender
 * @property {boolean} grouped follows a message of the same sender closely
 * @property {{ id: string, sender: string, text: string } | null} quote the message replied to
 * @property {boolean} quoteMissing it replies to a message not loaded
 * @property {string | null} receipt "Seen", "Sent"…
 * @property {string} me the person's user id
 * @property {(id: string) => string} nameOf
 */

/**
 * What the drawing depends on, to redraw only what changed.
 * @param {MessageView} view
 * @returns {string}
 */
export function messageSignature(view) {
  const { message } = view;
  return JSON.stringify([
    message.body, message.edited_at, message.deleted, message.reactions, message.attachments.map((a) => a.id),
    view.senderName, view.showSender, view.grouped, view.quote, view.quoteMissing, view.receipt,
    message.reactions.flatMap((reaction) => reaction.user_ids.map(view.nameOf)),
  ]);
}

/**
 * @param {MessageView} view
 * @param {{ i18n: I18n, actions: MessageActions, attachmentUrl: (id: string) => string }} context
 * @returns {HTMLLIElement}
 */
export function renderMessage(view, { i18n, actions, attachmentUrl }) {
  const { message, own } = view;
  const time = el('time', { datetime: message.created_at, title: i18n.formatDateTime(message.created_at) },
    i18n.formatTime(message.created_at));
  const classes = ['message', own ? 'message-own' : 'message-other'];
  if (view.grouped) classes.push('message-grouped');
  if (message.deleted) classes.push('message-deleted');

  const meta = el('p', { class: 'message-meta' },
    el('span', { class: view.showSender ? 'message-sender' : 'message-sender visually-hidden' },
      own ? i18n.t('message.you') : view.senderName),
    ' ', time);

  /** @type {HTMLElement[]} */
  const bubbleParts = [];
  if (message.deleted) {
    bubbleParts.push(el('p', { class: 'message-text message-tombstone' }, i18n.t('message.deleted')));
  } else {
    if (view.quote) {
      const { id } = view.quote;
      const quote = el('button', { type: 'button', class: 'reply-quote', 'data-focus': 'quote' },
        el('span', { class: 'visually-hidden' }, i18n.t('message.replyTo')),
        el('span', { class: 'reply-quote-sender' }, view.quote.sender),
        el('span', { class: 'reply-quote-text' }, view.quote.text));
      quote.addEventListener('click', () => actions.jumpTo(id));
      bubbleParts.push(quote);
    } else if (view.quoteMissing) {
      bubbleParts.push(el('p', { class: 'reply-quote reply-quote-missing' }, i18n.t('message.replyToEarlier')));
    }
    if (message.body) {
      const text = el('p', { class: 'message-text' });
      text.append(linkifiedText(message.body));
      bubbleParts.push(text);
    }
    if (message.attachments.length > 0) bubbleParts.push(renderAttachments(message.attachments, i18n, attachmentUrl));
    if (message.edited_at) {
      bubbleParts.push(el('p', { class: 'message-edited' }, i18n.t('message.edited')));
    }
  }

  const item = el('li', { class: classes.join(' '), id: `message-${message.id}`, tabindex: -1 },
    meta,
    el('div', { class: 'message-row' },
      el('div', { class: 'bubble' }, ...bubbleParts),
      !message.deleted && actionsMenu(view, i18n, actions)),
    message.reactions.length > 0 && renderReactions(view, i18n, actions),
    view.receipt && el('p', { class: 'message-receipt' }, view.receipt));
  return item;
}

/**
 * @param {Attachment[]} attachments
 * @param {I18n} i18n
 * @param {(id: string) => string} attachmentUrl
 * @returns {HTMLUListElement}
 */
function renderAttachments(attachments, i18n, attachmentUrl) {
  return el('ul', { class: 'attachments' }, ...attachments.map((attachment) => {
    const url = attachmentUrl(attachment.id);
    if (isPreviewableImage(attachment)) {
      const image = el('img', {
        src: url,
        alt: attachment.name,
        loading: 'lazy',
        decoding: 'async',
        width: attachment.width,
        height: attachment.height,
      });
      return el('li', { class: 'attachment attachment-image' },
        el('a', { href: url, target: '_blank', rel: 'noopener', title: i18n.t('attachment.open', { name: attachment.name }) }, image));
    }
    return el('li', { class: 'attachment attachment-file' },
      el('a', { href: url, download: attachment.name, rel: 'noopener' },
        icon('file'),
        el('span', { class: 'attachment-name' }, attachment.name)),
      el('span', { class: 'attachment-size' }, fileSize(attachment.size, i18n.locale)));
  }));
}

/**
 * @param {MessageView} view
 * @param {I18n} i18n
 * @param {MessageActions} actions
 * @returns {HTMLUListElement}
 */
function renderReactions({ message, me, nameOf }, i18n, actions) {
  return el('ul', { class: 'reactions', 'aria-label': i18n.t('reaction.list') }, ...message.reactions.map((reaction) => {
    const mine = reaction.user_ids.includes(me);
    const names = reaction.user_ids.map((id) => (id === me ? i18n.t('message.you') : nameOf(id)));
    const button = el('button', {
      type: 'button',
      class: 'reaction',
      'aria-pressed': String(mine),
      'aria-label': i18n.t('reaction.summary', { emoji: reaction.emoji, count: reaction.user_ids.length, names: names.join(', ') }),
      title: names.join(', '),
      'data-focus': `reaction:${reaction.emoji}`,
    }, el('span', { class: 'reaction-emoji', 'aria-hidden': 'true' }, reaction.emoji),
    el('span', { class: 'reaction-count', 'aria-hidden': 'true' }, reaction.user_ids.length));
    button.addEventListener('click', () => actions.react(message, reaction.emoji));
    return el('li', {}, button);
  }));
}

/**
 * @param {MessageView} view
 * @param {I18n} i18n
 * @param {MessageActions} actions
 * @returns {HTMLElement}
 */
function actionsMenu({ message, own }, i18n, actions) {
  const { element } = popoverMenu({
    label: i18n.t('message.actions'),
    buttonContent: [icon('more')],
    buttonClass: 'icon-button message-actions-button',
    panelClass: 'message-actions',
    focusKey: 'actions',
    items: () => {
      const reactions = el('div', { class: 'reaction-choices' }, ...reactionChoices.map((emoji) => {
        const button = el('button', { type: 'button', class: 'reaction-choice', 'aria-label': i18n.t('reaction.add', { emoji }), title: i18n.t('reaction.add', { emoji }) }, emoji);
        button.addEventListener('click', () => actions.react(message, emoji));
        return button;
      }));
      /**
       * @param {import('../components/icon.js').IconName} iconName
       * @param {string} label
       * @param {() => void} run
       * @param {string} [className]
       */
      const action = (iconName, label, run, className = '') => {
        const button = el('button', { type: 'button', class: `menu-item ${className}`.trim() }, icon(iconName), label);
        button.addEventListener('click', run);
        return button;
      };
      const items = [reactions, action('reply', i18n.t('message.reply'), () => actions.reply(message))];
      if (own) {
        if (message.body) items.push(action('edit', i18n.t('message.edit'), () => actions.edit(message)));
        items.push(action('trash', i18n.t('message.delete'), () => actions.remove(message), 'menu-item-danger'));
      }
      return items;
    },
  });
  return element;
}

/**
 * @param {OutboxEntry} entry
 * @param {boolean} online
 * @returns {string}
 */
export function pendingSignature(entry, online) {
  return JSON.stringify([entry.state, entry.error, online, entry.body]);
}

/**
 * A message in the outbox, drawn like one of the person's own with its
 * state instead of a time.
 * @param {OutboxEntry} entry
 * @param {{ i18n: I18n, online: boolean, retry: () => void, discard: () => void, attachmentUrl: (id: string) => string }} context
 * @returns {HTMLLIElement}
 */
export function renderPending(entry, { i18n, online, retry, discard, attachmentUrl }) {
  /** @type {HTMLElement} */
  let status;
  if (entry.state === 'failed') {
    const retryButton = el('button', { type: 'button', class: 'link-button', 'data-focus': 'retry' }, i18n.t('outbox.retry'));
    const discardButton = el('button', { type: 'button', class: 'link-button', 'data-focus': 'discard' }, i18n.t('outbox.discard'));
    retryButton.addEventListener('click', retry);
    discardButton.addEventListener('click', discard);
    status = el('p', { class: 'message-status message-status-failed', role: 'alert' },
      icon('alert'), i18n.t('outbox.failed', { reason: entry.error ?? '' }), ' ', retryButton, ' ', discardButton);
  } else {
    status = el('p', { class: 'message-status' }, icon('clock'),
      online || entry.state === 'sending' ? i18n.t('outbox.sending') : i18n.t('outbox.waiting'));
  }
  const text = entry.body ? el('p', { class: 'message-text' }) : null;
  text?.append(linkifiedText(entry.body));
  return el('li', { class: 'message message-own message-pending', 'data-client-id': entry.client_id },
    el('p', { class: 'message-meta visually-hidden' }, i18n.t('message.you')),
    el('div', { class: 'message-row' },
      el('div', { class: 'bubble' },
        text,
        entry.attachments.length > 0 && renderAttachments(entry.attachments, i18n, attachmentUrl))),
    status);
}
