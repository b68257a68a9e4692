// The help desk's REST routes for the signed-in agent or manager
// (internal/desk/http.go), with the session cookie like the app's Api.
// Failures are the app's ApiError, so describeError words them.

import { ApiError } from '../api.js';

/** @typedef {import('./help-widget.js').HelpRequest} HelpRequest */

/**
 * @typedef {Object} DeskAgent
 * @property {string} user_id
 * @property {string} name
 * @property {string} status available, busy, wrapup, away, offline
 * @property {boolean} manager
 * @property {string[]} queues
 * @property {Record<string, number>} skills
 * @property {number} max_chats
 * @property {string | null} wrapup_until
 */

/**
 * A request as agents see it.
 * @typedef {HelpRequest & { identity: string, queue_id: string, location?: string, page?: string, device?: string,
 *   external_id?: string, created_at: string, ended_at: string | null, notes?: string, wrapup_code?: string,
 *   agent_id?: string, rating_comment?: string, transfers?: number, warm_agent_id?: string, end_reason?: string,
 *   callback_contact?: string, callback_at?: string | null }} DeskRequest
 */

/**
 * A queue as the console lists it (to transfer to).
 * @typedef {Object} DeskQueue
 * @property {string} id
 * @property {string} key
 * @property {string} name
 * @property {string[]} channels
 */

/**
 * @typedef {Object} DeskWebhook
 * @property {string} id
 * @property {string} url
 * @property {string[]} events
 * @property {string} created_at
 * @property {string} [secret] only in the answer that made it
 */

/**
 * One event's delivery to one webhook, with its attempts so far.
 * @typedef {Object} DeskDelivery
 * @property {string} id
 * @property {string} event
 * @property {'pending' | 'delivered' | 'failed'} state
 * @property {number} attempts
 * @property {string | null} next_attempt_at
 * @property {number} last_status
 * @property {string} [last_error]
 * @property {string} created_at
 * @property {string | null} delivered_at
 */

/**
 * @typedef {Object} Offer
 * @property {string} id
 * @property {string} request_id
 * @property {string} expires_at
 * @property {string} created_at
 * @property {DeskRequest} [request]
 * @property {DeskRequest[]} [history]
 */

export class DeskApi {
  #base = '/api/v1/desk';

  /**
   * @param {string} method
   * @param {string} path under /api/v1/desk
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    /** @type {RequestInit} */
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.#base + path, init);
    } catch {
      throw new ApiError(0, { title: 'Network error' }, null);
    }
    if (response.status === 204) return undefined;
    if (response.ok) return response.json();
    const problem = await response.json().catch(() => ({ status: response.status }));
    throw new ApiError(response.status, problem, null);
  }

  /** @returns {Promise<DeskAgent>} */
  me() {
    return this.request('GET', '/agents/me');
  }

  /**
   * @param {'available' | 'away' | 'offline'} status
   * @returns {Promise<DeskAgent>}
   */
  setStatus(status) {
    return this.request('PUT', '/agents/me/status', { status });
  }

  /** @returns {Promise<{ items: Offer[] }>} */
  offers() {
    return this.request('GET', '/offers');
  }

  /** @returns {Promise<{ items: DeskRequest[] }>} */
  sessions() {
    return this.request('GET', '/agents/me/sessions');
  }

  /**
   * @param {string} id
   * @returns {Promise<DeskRequest>}
   */
  accept(id) {
    return this.request('POST', `/offers/${encodeURIComponent(id)}/accept`);
  }

  /** @param {string} id */
  decline(id) {
    return this.request('POST', `/offers/${encodeURIComponent(id)}/decline`);
  }

  /**
   * @param {string} id
   * @returns {Promise<DeskRequest>}
   */
  end(id) {
    return this.request('POST', `/requests/${encodeURIComponent(id)}/end`);
  }

  /**
   * @param {string} id
   * @param {string} code
   * @param {string} notes
   * @returns {Promise<DeskRequest>}
   */
  wrapUp(id, code, notes) {
    return this.request('POST', `/requests/${encodeURIComponent(id)}/wrapup`, { code, notes });
  }

  /**
   * @param {string} id
   * @param {string} notes
   * @returns {Promise<DeskRequest>}
   */
  notes(id, notes) {
    return this.request('PUT', `/requests/${encodeURIComponent(id)}/notes`, { notes });
  }

  /**
   * Hands a session on: to a queue (id or key) or to one agent; warm keeps
   * this agent in it until the next one accepts.
   * @param {string} id
   * @param {{ queue?: string, agent?: string, warm: boolean }} target
   * @returns {Promise<DeskRequest>}
   */
  transfer(id, target) {
    return this.request('POST', `/requests/${encodeURIComponent(id)}/transfer`, target);
  }

  /**
   * @param {string} id
   * @returns {Promise<DeskRequest>}
   */
  get(id) {
    return this.request('GET', `/requests/${encodeURIComponent(id)}`);
  }

  /** @returns {Promise<{ items: DeskQueue[] }>} */
  queues() {
    return this.request('GET', '/queues');
  }

  /** Every agent (managers only: others get 403). @returns {Promise<{ items: DeskAgent[] }>} */
  agents() {
    return this.request('GET', '/agents');
  }

  /** @returns {Promise<{ items: DeskWebhook[] }>} */
  webhooks() {
    return this.request('GET', '/webhooks');
  }

  /**
   * @param {string} url
   * @param {string[]} events
   * @returns {Promise<DeskWebhook>} with its secret, this once
   */
  createWebhook(url, events) {
    return this.request('POST', '/webhooks', { url, events });
  }

  /** @param {string} id */
  deleteWebhook(id) {
    return this.request('DELETE', `/webhooks/${encodeURIComponent(id)}`);
  }

  /**
   * @param {string} id
   * @returns {Promise<{ items: DeskDelivery[] }>} newest first
   */
  deliveries(id) {
    return this.request('GET', `/webhooks/${encodeURIComponent(id)}/deliveries`);
  }
}
