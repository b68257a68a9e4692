// The account's sessions: where it is signed in, and ending any of them.

import { el, replaceChildren, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { showError } from '../components/form-controller.js';
import { describeUserAgent } from './user-agent.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../api.js').Session} Session */

/**
 * @param {ViewContext} ctx
 * @returns {{ element: HTMLElement, reload: () => Promise<void> }}
 */
export function sessionsSection(ctx) {
  const { i18n, api } = ctx;
  const titleId = uniqueId('sessions');
  const status = Notice.create('success');
  const errors = Notice.create('error');
  const body = el('div', { class: 'list-body' }, el('p', { class: 'muted' }, i18n.t('app.loading')));
  const element = el('section', { class: 'card', 'aria-labelledby': titleId },
    el('h2', { id: titleId }, i18n.t('sessions.title')),
    el('p', { class: 'muted' }, i18n.t('sessions.intro')),
    status, errors, body);

  /** @param {unknown} error */
  const fail = (error) => {
    if (!ctx.intercept(error)) showError(error, { notice: errors, i18n });
  };

  const reload = async () => {
    try {
      const { items } = await api.sessions();
      errors.clear();
      replaceChildren(body, renderList(items));
    } catch (error) {
      fail(error);
    }
  };

  /** @param {Session} session */
  const end = async (session) => {
    const ok = await confirmAction({
      message: i18n.t('sessions.endConfirm'),
      confirm: i18n.t('sessions.end'),
      cancel: i18n.t('dialog.cancel'),
    });
    if (!ok) return;
    status.clear();
    try {
      await api.endSession(session.id);
    } catch (error) {
      fail(error);
      return;
    }
    if (session.current) {
      ctx.signedOut('auth.signedOut');
      return;
    }
    status.show(i18n.t('sessions.ended'));
    await reload();
    // The pressed button went with its row; keep the keyboard in the list.
    body.querySelector('button')?.focus();
  };

  /** @param {Session[]} items */
  const renderList = (items) => {
    if (items.length === 0) return el('p', { class: 'muted' }, i18n.t('sessions.empty'));
    const sorted = [...items].sort((a, b) =>
      Number(b.current) - Number(a.current) || b.last_seen_at.localeCompare(a.last_seen_at));
    return el('ul', { class: 'item-list' }, ...sorted.map((session) => {
      const deviceId = uniqueId('session');
      const button = el('button', { type: 'button', class: 'button-secondary', 'aria-describedby': deviceId },
        i18n.t('sessions.end'));
      button.addEventListener('click', () => end(session));
      const meta = [
        session.ip ? i18n.t('sessions.ip', { ip: session.ip }) : '',
        i18n.t('sessions.lastSeen', { date: i18n.formatDateTime(session.last_seen_at) }),
        i18n.t('sessions.signedIn', { date: i18n.formatDateTime(session.created_at) }),
      ].filter(Boolean);
      return el('li', { class: session.current ? 'item item-current' : 'item' },
        el('div', { class: 'item-main' },
          el('p', { class: 'item-title', id: deviceId },
            deviceName(session.user_agent),
            session.current && el('span', { class: 'badge' }, i18n.t('sessions.thisDevice'))),
          el('p', { class: 'item-meta' }, meta.join(' · '))),
        button);
    }));
  };

  /** @param {string} userAgent */
  const deviceName = (userAgent) => {
    const { browser, os } = describeUserAgent(userAgent);
    if (browser && os) return i18n.t('sessions.browserOn', { browser, os });
    return browser ?? os ?? (userAgent || i18n.t('sessions.unknownDevice'));
  };

  return { element, reload };
}
