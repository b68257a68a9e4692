// A marketplace session is an ordinary video call in the learner's and
// the expert's direct conversation (its call_id is on the session). The
// calls UI (calls/call-manager.js, read-only here) rings, joins and draws
// the call; this companion adds what a paid session needs on top:
//
//   - joining with the camera off: the call manager joins a video call
//     with the camera on, so the learner's device joins through accept()
//     with the call described as a voice call (only the camera wish at
//     joining reads the kind; the call's own frames restore it, and the
//     call screen's Camera button turns the camera on whenever wanted);
//   - the running billable time and cost, and "End session", inside the
//     call screen (which covers the app while a call is on), read from
//     GET /api/v1/market/sessions/{id} every few seconds — the server's
//     meter, never a clock of the page's own.
//
// It watches the calls of the signed-in person: when this tab joins a call
// that is one of their sessions (the expert accepting the ringing, too),
// the meter appears in the call screen.

import { el } from '../components/dom.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { clock, formatMoney } from './money.js';

/** @typedef {import('../messenger/session.js').MessengerSession} MessengerSession */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('./market-api.js').MarketSession} MarketSession */

/** How often the meter asks the server. */
export const pollMs = 3000;

/** @type {WeakMap<MessengerSession, MarketCallCompanion>} */
const companions = new WeakMap();

/**
 * The companion of a signed-in person's calls, made once per messenger session.
 * @param {MessengerSession} messenger
 * @param {(path: string) => void} navigate
 */
export function marketCalls(messenger, navigate) {
  let companion = companions.get(messenger);
  if (!companion) {
    companion = new MarketCallCompanion(messenger, navigate);
    companions.set(messenger, companion);
  }
  return companion;
}

export class MarketCallCompanion {
  /** @type {MessengerSession} */
  #messenger;
  /** @type {(path: string) => void} */
  #navigate;
  /** @type {string | null} the call the meter is attached to */
  #attached = null;
  /** @type {Set<(session: MarketSession) => void>} */
  #listeners = new Set();

  /**
   * @param {MessengerSession} messenger
   * @param {(path: string) => void} navigate
   */
  constructor(messenger, navigate) {
    this.#messenger = messenger;
    this.#navigate = navigate;
    const stop = messenger.calls.onChange(() => void this.#callChanged());
    messenger.onStop(stop);
  }

  /**
   * @param {(session: MarketSession) => void} listener hears each fresh
   *   reading of a session the meter follows (and its end)
   * @returns {() => void}
   */
  onSession(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether this tab is in the session's call. */
  inCall(/** @type {MarketSession} */ session) {
    return Boolean(session.call_id) && this.#messenger.calls.active?.id === session.call_id;
  }

  /**
   * Joins the session's call on this device. The learner joins with the
   * camera off; the expert with it on.
   * @param {MarketSession} session with its call_id
   */
  async join(session) {
    if (!session.call_id || this.inCall(session)) return;
    const call = await this.#messenger.api.call(session.call_id);
    if (call.state === 'ended') return;
    const learner = session.learner_id === this.#messenger.user.id;
    await this.#messenger.calls.accept(learner ? { ...call, kind: 'voice' } : call);
  }

  async #callChanged() {
    const active = this.#messenger.calls.active;
    if (!active || active.id === this.#attached) return;
    // The session's call id is written just after the call starts; the
    // expert may answer before the list has it, so ask twice.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      let sessions;
      try {
        sessions = (await marketApi.sessions()).items;
      } catch {
        return;
      }
      if (this.#messenger.calls.active?.id !== active.id) return;
      const session = sessions.find((s) => s.call_id === active.id && (s.status === 'ringing' || s.status === 'active'));
      if (session) {
        this.#attach(session);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }

  /**
   * Off the session's page (the expert answered elsewhere), goes there: it
   * shows what the session came to.
   * @param {MarketSession} session
   */
  #showSummary(session) {
    const path = `/market/sessions/${encodeURIComponent(session.id)}`;
    if (location.pathname !== path) this.#navigate(path);
  }

  /** @param {MarketSession} first */
  #attach(first) {
    const callId = /** @type {string} */ (first.call_id);
    const screen = document.querySelector(`section.call-screen[data-call="${CSS.escape(callId)}"]`);
    if (!screen) return;
    this.#attached = callId;
    const { i18n } = this.#messenger;
    const time = el('strong', { 'data-meter': 'time' });
    const cost = el('strong', { 'data-meter': 'cost' });
    const held = el('span', { class: 'market-meter-held' });
    const status = el('p', { class: 'market-meter-status', role: 'status' });
    const end = el('button', { type: 'button', class: 'button-danger market-meter-end' }, i18n.t('market.session.end'));
    const meter = el('div', { class: 'market-meter', role: 'group', 'aria-label': i18n.t('market.session.meter'), 'data-session': first.id },
      el('p', {}, i18n.t('market.session.billable'), ' ', time),
      el('p', {}, i18n.t('market.session.cost'), ' ', cost, ' ', held),
      status, end);
    const top = screen.querySelector('.call-top');
    if (top) top.after(meter);
    else screen.prepend(meter);

    /** @param {MarketSession} session */
    const draw = (session) => {
      const currency = session.price.currency;
      time.textContent = clock(session.billable_seconds);
      cost.textContent = formatMoney(i18n, session.charged, currency);
      held.textContent = session.held > 0 ? i18n.t('market.session.ofHeld', { held: formatMoney(i18n, session.held, currency) }) : '';
      meter.dataset.billable = String(session.billable_seconds);
      for (const listener of this.#listeners) listener(session);
    };
    draw(first);

    let ended = false;
    const finish = (/** @type {MarketSession} */ session) => {
      if (ended) return;
      ended = true;
      window.clearInterval(timer);
      draw(session);
      meter.remove();
      if (this.#attached === callId) this.#attached = null;
      // The server ends the call with the session; leave it here too in
      // case its frame is slow.
      if (this.#messenger.calls.active?.id === callId) void this.#messenger.calls.hangUp();
      this.#showSummary(session);
    };
    const timer = window.setInterval(async () => {
      if (!meter.isConnected) {
        window.clearInterval(timer);
        if (this.#attached === callId) this.#attached = null;
        // The call screen closed (hung up): read the session once more,
        // for the page under it.
        marketApi.session(first.id).then((session) => {
          for (const listener of this.#listeners) listener(session);
          if (session.status === 'completed') this.#showSummary(session);
        }).catch(() => {});
        return;
      }
      try {
        const session = await marketApi.session(first.id);
        if (session.status === 'completed' || session.status === 'missed' || session.status === 'cancelled') finish(session);
        else draw(session);
      } catch {
        // The next reading will tell.
      }
    }, pollMs);

    end.addEventListener('click', async () => {
      if (end.getAttribute('aria-busy') === 'true') return;
      end.setAttribute('aria-busy', 'true');
      status.textContent = i18n.t('market.session.ending');
      try {
        const session = await marketApi.sessionAction(first.id, 'end');
        finish(session);
      } catch (error) {
        status.textContent = describeError(error, i18n);
        end.removeAttribute('aria-busy');
      }
    });
  }
}
