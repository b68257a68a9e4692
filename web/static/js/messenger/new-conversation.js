// The "New conversation" dialog: find people by name (or whole email),
// pick one for a direct chat, or several and a name for a group.

import { el, replaceChildren, uniqueId } from '../components/dom.js';
import { openModal } from '../components/dialog.js';
import { avatar } from '../components/avatar.js';
import { icon } from '../components/icon.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';

/** @typedef {import('../api.js').UserHit} UserHit */
/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */

/** Wait this long after the last key before searching. */
const searchDelayMs = 200;
/** The longest group title the server takes. */
const titleMax = 200;

/**
 * @param {MessengerSession} session
 * @param {(conversation: Conversation) => void} opened called with the conversation made or found
 */
export function openNewConversation(session, opened) {
  const { i18n } = session;
  const titleId = uniqueId('new-conversation');
  const searchId = uniqueId('people-search');
  const groupId = uniqueId('group-title');
  /** @type {Map<string, UserHit>} */
  const chosen = new Map();
  /** @type {UserHit[]} */
  let hits = [];
  let searchTimer = 0;
  let searchRun = 0;

  const search = el('input', { id: searchId, type: 'search', autocomplete: 'off', spellcheck: 'false', placeholder: i18n.t('newConversation.searchPlaceholder') });
  const status = el('p', { class: 'muted people-status', role: 'status' });
  const results = el('ul', { class: 'people-results', 'aria-label': i18n.t('newConversation.results') });
  const chosenList = el('ul', { class: 'chosen-people', 'aria-label': i18n.t('newConversation.chosen') });
  const groupTitle = el('input', { id: groupId, type: 'text', maxlength: titleMax, autocomplete: 'off' });
  const groupField = el('div', { class: 'field' }, el('label', { for: groupId }, i18n.t('newConversation.groupTitle')), groupTitle);
  const errors = Notice.create('error');
  const cancel = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('dialog.cancel'));
  const start = el('button', { type: 'submit', class: 'button-primary' }, i18n.t('newConversation.start'));
  const form = el('form', { class: 'stack new-conversation-form' },
    el('h2', { id: titleId }, i18n.t('newConversation.title')),
    errors,
    el('div', { class: 'field' }, el('label', { for: searchId }, i18n.t('newConversation.search')), search),
    status,
    results,
    chosenList,
    groupField,
    el('div', { class: 'actions' }, cancel, start));

  const modal = openModal({ labelledBy: titleId, content: [form], className: 'new-conversation', initialFocus: search });
  cancel.addEventListener('click', () => modal.close());

  const draw = () => {
    replaceChildren(results, ...hits.map((hit) => {
      const checkbox = el('input', { type: 'checkbox', value: hit.id, checked: chosen.has(hit.id) });
      checkbox.addEventListener('change', () => {
        if (checkbox.checked) chosen.set(hit.id, hit);
        else chosen.delete(hit.id);
        drawChosen();
      });
      return el('li', {},
        el('label', { class: 'person-option' },
          checkbox,
          avatar({ id: hit.id, name: hit.name, size: 'small' }),
          el('span', { class: 'person-name' }, hit.name),
          hit.email && el('span', { class: 'person-email' }, hit.email)));
    }));
  };

  const drawChosen = () => {
    replaceChildren(chosenList, ...[...chosen.values()].map((hit) => {
      const remove = el('button', { type: 'button', class: 'chip-remove', 'aria-label': i18n.t('newConversation.remove', { name: hit.name }) }, icon('close'));
      remove.addEventListener('click', () => {
        chosen.delete(hit.id);
        drawChosen();
        draw();
        search.focus();
      });
      return el('li', { class: 'chip' }, el('span', {}, hit.name), remove);
    }));
    chosenList.hidden = chosen.size === 0;
    const group = chosen.size > 1;
    groupField.hidden = !group;
    start.textContent = group ? i18n.t('newConversation.createGroup') : i18n.t('newConversation.start');
  };

  const runSearch = async () => {
    const query = search.value.trim();
    const run = ++searchRun;
    if (!query) {
      hits = [];
      status.textContent = '';
      draw();
      return;
    }
    try {
      const found = await session.findPeople(query);
      if (run !== searchRun) return;
      hits = found;
      status.textContent = found.length === 0
        ? i18n.t('newConversation.none')
        : i18n.t(found.length === 1 ? 'newConversation.foundOne' : 'newConversation.found', { count: found.length });
      draw();
    } catch (error) {
      if (run !== searchRun) return;
      status.textContent = describeError(error, i18n);
    }
  };
  search.addEventListener('input', () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => void runSearch(), searchDelayMs);
  });
  // Enter in the search box searches now rather than submitting.
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    window.clearTimeout(searchTimer);
    void runSearch();
  });

  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    errors.clear();
    const people = [...chosen.keys()];
    if (people.length === 0) {
      errors.show(i18n.t('newConversation.pickSomeone'));
      search.focus();
      return;
    }
    const title = groupTitle.value.trim();
    if (people.length > 1 && !title) {
      errors.show(i18n.t('newConversation.nameGroup'));
      groupTitle.focus();
      return;
    }
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const conversation = await session.createConversation(people.length === 1
        ? { kind: 'direct', user_id: people[0] }
        : { kind: 'group', title, members: people });
      modal.close();
      opened(conversation);
    } catch (error) {
      errors.show(describeError(error, i18n));
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  });

  drawChosen();
}
