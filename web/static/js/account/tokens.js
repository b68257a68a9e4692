// API tokens: listing, creating (the secret is shown once) and revoking.

import { el, replaceChildren, uniqueId } from '../components/dom.js';
import { FormField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { CopyButton } from '../components/copy-button.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { handleForm, showError } from '../components/form-controller.js';
import * as checks from '../components/checks.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../api.js').Token} Token */
/** @typedef {import('../api.js').NewToken} NewToken */

/** The longest token name the server takes. */
const nameMax = 100;

/**
 * @param {ViewContext} ctx
 * @returns {{ element: HTMLElement, reload: () => Promise<void> }}
 */
export function tokensSection(ctx) {
  const { i18n, api } = ctx;
  const titleId = uniqueId('tokens');
  const status = Notice.create('success');
  const errors = Notice.create('error');
  const secretSlot = el('div');
  const body = el('div', { class: 'list-body' }, el('p', { class: 'muted' }, i18n.t('app.loading')));

  /** @param {unknown} error */
  const fail = (error) => {
    if (!ctx.intercept(error)) showError(error, { notice: errors, i18n });
  };

  const reload = async () => {
    try {
      const { items } = await api.tokens();
      replaceChildren(body, renderList(items));
    } catch (error) {
      fail(error);
    }
  };

  const name = FormField.create({
    name: 'name',
    label: i18n.t('tokens.name'),
    autocomplete: 'off',
    maxLength: nameMax,
    checks: [checks.required(i18n), checks.maxLength(i18n, nameMax)],
  });
  const formErrors = Notice.create('error');
  const form = el('form', { class: 'inline-form' },
    formErrors, name,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('tokens.create')));
  handleForm({
    form,
    fields: [name],
    notice: formErrors,
    i18n,
    intercept: (error) => ctx.intercept(error),
    submit: async (values) => {
      status.clear();
      const created = await api.createToken({ name: values.name.trim() });
      form.reset();
      showSecret(created);
      await reload();
    },
  });

  /** @param {NewToken} created */
  const showSecret = (created) => {
    const messageId = uniqueId('token-created');
    const input = el('input', {
      id: uniqueId('token-secret'),
      class: 'secret',
      type: 'text',
      readonly: true,
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': messageId,
    });
    input.value = created.token;
    const selectSecret = () => {
      input.focus();
      input.select();
    };
    const done = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('tokens.done'));
    done.addEventListener('click', () => {
      secretSlot.replaceChildren();
      name.focus();
    });
    replaceChildren(secretSlot, el('div', { class: 'secret-panel' },
      el('p', { id: messageId }, i18n.t('tokens.created', { name: created.name })),
      el('label', { for: input.id }, i18n.t('tokens.secret')),
      el('div', { class: 'secret-row' }, input, CopyButton.create({
        text: () => input.value,
        label: i18n.t('tokens.copy'),
        copied: i18n.t('tokens.copied'),
        failed: i18n.t('tokens.copyFailed'),
        onFail: selectSecret,
      })),
      done));
    selectSecret();
  };

  /** @param {Token} token */
  const revoke = async (token) => {
    const ok = await confirmAction({
      message: i18n.t('tokens.revokeConfirm', { name: token.name }),
      confirm: i18n.t('tokens.revoke'),
      cancel: i18n.t('dialog.cancel'),
    });
    if (!ok) return;
    status.clear();
    try {
      await api.revokeToken(token.id);
    } catch (error) {
      fail(error);
      return;
    }
    status.show(i18n.t('tokens.revoked'));
    await reload();
    (body.querySelector('button') ?? name.input).focus();
  };

  /** @param {Token[]} items */
  const renderList = (items) => {
    if (items.length === 0) return el('p', { class: 'muted' }, i18n.t('tokens.empty'));
    const sorted = [...items].sort((a, b) => b.created_at.localeCompare(a.created_at));
    return el('ul', { class: 'item-list' }, ...sorted.map((token) => {
      const nameId = uniqueId('token');
      const button = el('button', { type: 'button', class: 'button-secondary', 'aria-describedby': nameId },
        i18n.t('tokens.revoke'));
      button.addEventListener('click', () => revoke(token));
      const meta = [
        i18n.t('tokens.prefix', { prefix: `${token.prefix}…` }),
        i18n.t('tokens.createdAt', { date: i18n.formatDateTime(token.created_at) }),
        token.last_used_at
          ? i18n.t('tokens.lastUsed', { date: i18n.formatDateTime(token.last_used_at) })
          : i18n.t('tokens.neverUsed'),
        token.expires_at
          ? i18n.t('tokens.expires', { date: i18n.formatDateTime(token.expires_at) })
          : i18n.t('tokens.noExpiry'),
      ];
      return el('li', { class: 'item' },
        el('div', { class: 'item-main' },
          el('p', { class: 'item-title', id: nameId }, token.name),
          el('p', { class: 'item-meta' }, meta.join(' · '))),
        button);
    }));
  };

  const element = el('section', { class: 'card', 'aria-labelledby': titleId },
    el('h2', { id: titleId }, i18n.t('tokens.title')),
    el('p', { class: 'muted' }, i18n.t('tokens.intro')),
    form, secretSlot, status, errors, body);
  return { element, reload };
}
