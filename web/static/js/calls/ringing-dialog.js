// The incoming call: a modal dialog with "Accept" and "Decline" (the
// focus starts on Accept; Escape silences this device without declining,
// so another device of the person may still answer).

import { el, uniqueId } from '../components/dom.js';
import { openModal } from '../components/dialog.js';
import { icon } from '../components/icon.js';
import { avatar } from '../components/avatar.js';

/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../api.js').Call} Call */

/**
 * @typedef {Object} RingOptions
 * @property {I18n} i18n
 * @property {Call} call
 * @property {string} callerId
 * @property {string} callerName
 * @property {'helper' | 'customer' | undefined} role this person's role, in a help call
 * @property {() => void} accept
 * @property {() => void} decline
 * @property {() => void} dismissed Escape or the backdrop: stop ringing here
 */

/**
 * @param {RingOptions} options
 * @returns {{ close: () => void }} close: the ringing ended elsewhere
 */
export function ringingDialog({ i18n, call, callerId, callerName, role, accept, decline, dismissed }) {
  const titleId = uniqueId('ring-title');
  const kind = call.one_way ? 'help' : call.kind;
  let answered = false;
  const acceptButton = el('button', { type: 'button', class: 'button-primary call-accept' },
    icon(kind === 'voice' ? 'phone' : kind === 'help' ? 'help' : 'video'), el('span', {}, i18n.t('call.accept')));
  const declineButton = el('button', { type: 'button', class: 'button-danger call-decline' },
    icon('hangup'), el('span', {}, i18n.t('call.decline')));
  let text = i18n.t('call.isCalling', { name: callerName });
  if (kind === 'help') text = i18n.t(role === 'customer' ? 'call.wantsToHelp' : 'call.wantsHelp', { name: callerName });
  const { close } = openModal({
    labelledBy: titleId,
    className: 'ringing-dialog',
    content: [
      el('div', { class: 'ringing-caller' },
        el('span', { class: 'ringing-pulse', 'aria-hidden': 'true' }, avatar({ id: callerId, name: callerName, decorative: true })),
        el('div', {},
          el('h2', { id: titleId }, i18n.t(/** @type {const} */ (`call.incoming.${kind}`))),
          el('p', { class: 'ringing-text' }, text))),
      el('div', { class: 'actions' }, declineButton, acceptButton),
    ],
    initialFocus: acceptButton,
    onClose: () => {
      if (!answered) dismissed();
    },
  });
  acceptButton.addEventListener('click', () => {
    answered = true;
    close();
    accept();
  });
  declineButton.addEventListener('click', () => {
    answered = true;
    close();
    decline();
  });
  return {
    close: () => {
      answered = true;
      close();
    },
  };
}
