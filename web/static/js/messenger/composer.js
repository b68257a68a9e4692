// Writing in a conversation: the "Message" box (Enter sends, Shift+Enter
// starts a new line, never while an input method is composing, as Korean
// typing is), files attached by the picker, by dropping them or by
// pasting, a reply or an edit in progress, and "typing" notices to the
// others. Text typed and not sent is kept per conversation.

import { el, uniqueId } from '../components/dom.js';
import { icon } from '../components/icon.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { fileSize, messagePreview } from './format.js';

/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').Attachment} Attachment */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */

/** The server's limits on one message. */
const maxBodyBytes = 16384;
const maxAttachments = 10;
/** The tallest the box grows before it scrolls, in pixels. */
const maxBoxHeight = 160;

/**
 * @typedef {Object} Upload
 * @property {string} key
 * @property {File} file
 * @property {'uploading' | 'done' | 'failed'} state
 * @property {Attachment} [attachment]
 * @property {string} [error]
 * @property {string} [previewUrl] a blob: URL for an image's thumbnail
 * @property {AbortController} controller
 */

/**
 * @typedef {{ kind: 'new' } | { kind: 'reply', message: Message } | { kind: 'edit', message: Message }} Mode
 */

export class Composer {
  /** @type {HTMLFormElement} */
  element;
  /** @type {MessengerSession} */
  #session;
  /** @type {string} */
  #conversationId;
  /** @type {() => void} */
  #onSent;
  /** @type {() => Message | undefined} */
  #lastOwnMessage;
  /** @type {HTMLTextAreaElement} */
  #box;
  /** @type {HTMLInputElement} */
  #fileInput;
  /** @type {HTMLElement} */
  #context = el('div', { class: 'composer-context' });
  /** @type {HTMLUListElement} */
  #uploadList = el('ul', { class: 'uploads' });
  /** @type {Notice} */
  #errors = Notice.create('error');
  /** @type {Mode} */
  #mode = { kind: 'new' };
  /** @type {Upload[]} */
  #uploads = [];

  /**
   * @param {{ session: MessengerSession, conversationId: string, onSent: () => void, lastOwnMessage: () => Message | undefined }} options
   *   onSent: a message went into the outbox; lastOwnMessage: what the
   *   Up arrow edits
   */
  constructor({ session, conversationId, onSent, lastOwnMessage }) {
    this.#session = session;
    this.#conversationId = conversationId;
    this.#onSent = onSent;
    this.#lastOwnMessage = lastOwnMessage;
    const { i18n } = session;

    const hintId = uniqueId('composer-hint');
    this.#box = el('textarea', {
      class: 'composer-box',
      rows: 1,
      'aria-label': i18n.t('composer.label'),
      'aria-describedby': hintId,
      placeholder: i18n.t('composer.placeholder'),
      enterkeyhint: 'send',
    });
    this.#box.value = session.drafts.get(conversationId) ?? '';
    this.#fileInput = el('input', { type: 'file', multiple: true, class: 'visually-hidden', tabindex: -1, 'aria-hidden': 'true' });
    const attach = el('button', { type: 'button', class: 'icon-button composer-attach', 'aria-label': i18n.t('composer.attach'), title: i18n.t('composer.attach') }, icon('attach'));
    const send = el('button', { type: 'submit', class: 'composer-send', 'aria-label': i18n.t('composer.send'), title: i18n.t('composer.send') }, icon('send'));

    this.element = el('form', { class: 'composer', 'aria-label': i18n.t('composer.formLabel') },
      this.#errors,
      this.#context,
      this.#uploadList,
      el('div', { class: 'composer-row' }, attach, this.#fileInput, this.#box, send),
      el('p', { class: 'visually-hidden', id: hintId }, i18n.t('composer.hint')));
    this.#context.hidden = true;
    this.#uploadList.hidden = true;

    attach.addEventListener('click', () => this.#fileInput.click());
    this.#fileInput.addEventListener('change', () => {
      this.addFiles(Array.from(this.#fileInput.files ?? []));
      this.#fileInput.value = '';
    });
    this.#box.addEventListener('input', () => {
      this.#fit();
      if (this.#mode.kind !== 'edit') {
        this.#session.drafts.set(this.#conversationId, this.#box.value);
        if (this.#box.value.trim()) this.#session.typing(this.#conversationId);
      }
    });
    this.#box.addEventListener('keydown', (event) => this.#onKey(event));
    this.#box.addEventListener('paste', (event) => {
      const files = Array.from(event.clipboardData?.files ?? []);
      if (files.length === 0) return;
      event.preventDefault();
      this.addFiles(files);
    });
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#submit();
    });
  }

  /** Sizes the box to a draft it starts with; call once it is on the page. */
  attached() {
    this.#fit();
  }

  focus() {
    this.#box.focus();
  }

  /** Stops what is under way (the view is going). */
  destroy() {
    for (const upload of this.#uploads) {
      if (upload.state === 'uploading') upload.controller.abort();
      if (upload.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    }
  }

  /** @param {Message} message */
  reply(message) {
    if (this.#mode.kind === 'edit') this.#leaveEdit();
    this.#mode = { kind: 'reply', message };
    this.#showContext();
    this.focus();
  }

  /** @param {Message} message */
  edit(message) {
    if (this.#mode.kind !== 'edit') this.#session.drafts.set(this.#conversationId, this.#box.value);
    this.#mode = { kind: 'edit', message };
    this.#box.value = message.body;
    this.#fit();
    this.#showContext();
    this.focus();
    this.#box.setSelectionRange(this.#box.value.length, this.#box.value.length);
  }

  /** Back to writing a new message. */
  cancel() {
    if (this.#mode.kind === 'edit') this.#leaveEdit();
    this.#mode = { kind: 'new' };
    this.#showContext();
    this.focus();
  }

  #leaveEdit() {
    this.#box.value = this.#session.drafts.get(this.#conversationId) ?? '';
    this.#fit();
  }

  /**
   * Uploads files at once, so that sending later is quick.
   * @param {File[]} files
   */
  addFiles(files) {
    const { i18n } = this.#session;
    this.#errors.clear();
    if (this.#mode.kind === 'edit') this.cancel();
    const room = maxAttachments - this.#uploads.length;
    if (files.length > room) this.#errors.show(i18n.t('composer.tooManyFiles', { max: maxAttachments }));
    for (const file of files.slice(0, Math.max(0, room))) {
      /** @type {Upload} */
      const upload = { key: uniqueId('upload'), file, state: 'uploading', controller: new AbortController() };
      if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) upload.previewUrl = URL.createObjectURL(file);
      this.#uploads.push(upload);
      void this.#upload(upload);
    }
    this.#drawUploads();
  }

  /** @param {Upload} upload */
  async #upload(upload) {
    try {
      upload.attachment = await this.#session.upload(this.#conversationId, upload.file, upload.controller.signal);
      upload.state = 'done';
    } catch (error) {
      if (upload.controller.signal.aborted) return;
      upload.state = 'failed';
      upload.error = describeError(error, this.#session.i18n);
    }
    this.#drawUploads();
  }

  /** @param {Upload} upload */
  #removeUpload(upload) {
    upload.controller.abort();
    if (upload.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    this.#uploads = this.#uploads.filter((candidate) => candidate !== upload);
    this.#drawUploads();
    this.focus();
  }

  #drawUploads() {
    const { i18n } = this.#session;
    this.#uploadList.hidden = this.#uploads.length === 0;
    this.#uploadList.replaceChildren(...this.#uploads.map((upload) => {
      const remove = el('button', { type: 'button', class: 'icon-button upload-remove', 'aria-label': i18n.t('composer.removeFile', { name: upload.file.name }), title: i18n.t('composer.removeFile', { name: upload.file.name }) }, icon('close'));
      remove.addEventListener('click', () => this.#removeUpload(upload));
      const state = upload.state === 'uploading'
        ? i18n.t('composer.uploading')
        : upload.state === 'failed' ? upload.error ?? '' : fileSize(upload.file.size, i18n.locale);
      return el('li', { class: `upload upload-${upload.state}` },
        upload.previewUrl
          ? el('img', { class: 'upload-thumb', src: upload.previewUrl, alt: '' })
          : icon('file', 'upload-icon'),
        el('span', { class: 'upload-text' },
          el('span', { class: 'upload-name' }, upload.file.name),
          el('span', { class: 'upload-state', role: upload.state === 'failed' ? 'alert' : undefined }, state)),
        remove);
    }));
  }

  #showContext() {
    const { i18n } = this.#session;
    const mode = this.#mode;
    if (mode.kind === 'new') {
      this.#context.hidden = true;
      this.#context.replaceChildren();
      return;
    }
    const cancel = el('button', { type: 'button', class: 'icon-button', 'aria-label': i18n.t(mode.kind === 'edit' ? 'composer.cancelEdit' : 'composer.cancelReply'), title: i18n.t('dialog.cancel') }, icon('close'));
    cancel.addEventListener('click', () => this.cancel());
    const who = mode.message.sender_id === this.#session.user.id
      ? i18n.t('message.you')
      : this.#session.store.nameOf(mode.message.sender_id) ?? i18n.t('message.someone');
    const title = mode.kind === 'edit' ? i18n.t('composer.editing') : i18n.t('composer.replyingTo', { name: who });
    this.#context.hidden = false;
    this.#context.replaceChildren(
      icon(mode.kind === 'edit' ? 'edit' : 'reply'),
      el('div', { class: 'composer-context-text' },
        el('p', { class: 'composer-context-title' }, title),
        el('p', { class: 'composer-context-quote' }, messagePreview(mode.message, i18n))),
      cancel);
  }

  /** @param {KeyboardEvent} event */
  #onKey(event) {
    // keyCode 229: a key handled by an input method (Safari reports
    // isComposing late).
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.element.requestSubmit();
    } else if (event.key === 'Escape' && this.#mode.kind !== 'new') {
      event.preventDefault();
      this.cancel();
    } else if (event.key === 'ArrowUp' && this.#box.value === '' && this.#mode.kind === 'new') {
      const last = this.#lastOwnMessage();
      if (last) {
        event.preventDefault();
        this.edit(last);
      }
    }
  }

  async #submit() {
    const { i18n } = this.#session;
    this.#errors.clear();
    const body = this.#box.value.replace(/\s+$/, '');
    if (new TextEncoder().encode(body).length > maxBodyBytes) {
      this.#errors.show(i18n.t('composer.tooLong'));
      return;
    }
    const mode = this.#mode;
    if (mode.kind === 'edit') {
      if (!body.trim()) {
        this.#errors.show(i18n.t('composer.emptyEdit'));
        return;
      }
      try {
        if (body !== mode.message.body) await this.#session.edit(this.#conversationId, mode.message.id, body);
        this.cancel();
      } catch (error) {
        this.#errors.show(describeError(error, i18n));
      }
      return;
    }
    if (this.#uploads.some((upload) => upload.state === 'uploading')) {
      this.#errors.show(i18n.t('composer.waitForUploads'));
      return;
    }
    const attachments = this.#uploads.flatMap((upload) => (upload.attachment ? [upload.attachment] : []));
    if (!body.trim() && attachments.length === 0) return;
    this.#session.send(this.#conversationId, {
      body: body.trim() ? body : '',
      replyTo: mode.kind === 'reply' ? mode.message.id : undefined,
      attachments,
    });
    for (const upload of this.#uploads) {
      if (upload.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    }
    this.#uploads = [];
    this.#drawUploads();
    this.#box.value = '';
    this.#session.drafts.delete(this.#conversationId);
    this.#fit();
    this.#mode = { kind: 'new' };
    this.#showContext();
    this.#onSent();
  }

  /**
   * Grows the box with its text, up to a limit. The height is set through
   * the CSSOM, which the Content-Security-Policy allows.
   */
  #fit() {
    this.#box.style.height = '';
    if (!this.#box.isConnected || this.#box.value === '') return;
    this.#box.style.height = 'auto';
    this.#box.style.height = `${Math.min(this.#box.scrollHeight + 2, maxBoxHeight)}px`;
  }
}
