// The marketplace's and billing's HTTP routes (internal/market/http.go,
// internal/billing/http.go): same origin, cookie session, JSON; failures
// are thrown as ApiError like the rest of the app's API.

import { ApiError } from '../api.js';

/**
 * An amount in a currency's minor units: {"amount": 150, "currency": "USD"} is $1.50.
 * @typedef {Object} Money
 * @property {number} amount
 * @property {string} currency
 */

/**
 * @typedef {Object} Category
 * @property {string} key
 * @property {string} name
 * @property {number} commission_bps 2000 is 20 %
 * @property {boolean} health
 */

/**
 * @typedef {'free' | 'per_minute' | 'per_hour' | 'per_session'} PriceModel
 */

/**
 * @typedef {Object} Listing
 * @property {string} id
 * @property {string} expert_id
 * @property {string} expert_name
 * @property {string} status pending, approved, rejected, changes_requested, suspended, withdrawn
 * @property {string} title
 * @property {string} description
 * @property {string} category
 * @property {string[]} languages
 * @property {string} [intro_video]
 * @property {PriceModel} price_model
 * @property {Money} price
 * @property {number} min_billable_minutes
 * @property {number | null} session_minutes null: open-ended
 * @property {'flexible' | 'moderate' | 'strict'} cancellation
 * @property {boolean} start_now
 * @property {number | null} rating
 * @property {number} reviews
 * @property {string} created_at
 * @property {string} updated_at
 */

/**
 * @typedef {Object} ListingInput
 * @property {string} title
 * @property {string} description
 * @property {string} category
 * @property {string[]} languages
 * @property {PriceModel} price_model
 * @property {Money} price
 * @property {number} min_billable_minutes
 * @property {number | null} session_minutes
 * @property {string} cancellation
 * @property {boolean} start_now
 * @property {string} [intro_video] an uploaded video's id
 */

/**
 * @typedef {Object} Expert
 * @property {string} user_id
 * @property {string} name
 * @property {string} status
 * @property {string} headline
 * @property {string} bio
 * @property {string[]} languages
 * @property {string[]} categories
 * @property {string} [credentials]
 * @property {string} [licence_number]
 * @property {string} [licence_jurisdiction]
 * @property {string} time_zone
 * @property {string} [photo]
 * @property {string} created_at
 */

/**
 * @typedef {Object} Application
 * @property {string} headline
 * @property {string} bio
 * @property {string[]} languages
 * @property {string[]} categories
 * @property {string} credentials
 * @property {string} licence_number
 * @property {string} licence_jurisdiction
 * @property {string} time_zone
 * @property {string} [photo] an uploaded photo's id
 */

/**
 * An uploaded photo or intro video.
 * @typedef {Object} Media
 * @property {string} id
 * @property {'photo' | 'video'} kind
 * @property {string} content_type
 * @property {number} size
 */

/**
 * @typedef {Object} Decision
 * @property {string} decision approve, reject, request_changes, suspend, reinstate
 * @property {string} [reason]
 * @property {string} decided_by
 * @property {string} decided_at
 */

/**
 * @typedef {Object} Interval
 * @property {string} open "09:00"
 * @property {string} close "17:00"
 */

/**
 * @typedef {Object} Availability
 * @property {{ time_zone: string, weekly: Record<string, Interval[]> }} hours
 * @property {number} buffer_minutes
 * @property {number} max_per_day
 * @property {boolean} available_now
 */

/**
 * @typedef {Object} MarketSession
 * @property {string} id
 * @property {string} listing_id
 * @property {string} expert_id
 * @property {string} learner_id
 * @property {'booked' | 'now'} kind
 * @property {'booked' | 'ringing' | 'active' | 'completed' | 'cancelled' | 'missed'} status
 * @property {string} start_at
 * @property {string} end_at
 * @property {PriceModel} price_model
 * @property {Money} price
 * @property {number} min_billable_minutes
 * @property {number | null} session_minutes
 * @property {number} commission_bps
 * @property {string} cancellation
 * @property {number} held minor units the hold covers
 * @property {string} conversation_id
 * @property {string} [call_id]
 * @property {string | null} started_at
 * @property {string | null} ended_at
 * @property {string} [ended_by]
 * @property {number} billable_seconds
 * @property {number} charged
 * @property {number} commission
 * @property {number} expert_share
 * @property {number} refunded
 * @property {number} cancel_fee
 * @property {string} created_at
 */

/**
 * @typedef {Object} Review
 * @property {string} id
 * @property {string} session_id
 * @property {string} listing_id
 * @property {number} score
 * @property {string} [body]
 * @property {string} [reply]
 * @property {string} created_at
 */

/**
 * @typedef {Object} Claim
 * @property {string} id
 * @property {string} session_id
 * @property {string} reason
 * @property {'pending' | 'approved' | 'rejected'} status
 * @property {string} created_at
 * @property {string | null} decided_at
 */

/**
 * One person's money in one currency (minor units).
 * @typedef {Object} Balance
 * @property {string} currency
 * @property {number} wallet theirs to spend
 * @property {number} held set aside for sessions
 * @property {number} payable earned, not paid out yet (experts)
 * @property {number} paid_out
 */

/**
 * A saved card (Stripe), as shown: never its number.
 * @typedef {Object} Card
 * @property {string} brand visa, mastercard, …
 * @property {string} last4
 * @property {number} exp_month
 * @property {number} exp_year
 */

/**
 * An expert's payouts with Stripe.
 * @typedef {Object} Payouts
 * @property {string} [account]
 * @property {'not_started' | 'pending' | 'enabled'} status
 * @property {boolean} charges_enabled
 * @property {boolean} payouts_enabled
 * @property {boolean} details_submitted
 * @property {string} [country]
 */

/**
 * A 402's problem: what the session holds and the wallet's balance
 * (payment-required), or where the card's bank asks the learner to
 * confirm the payment (authentication-required).
 * @typedef {import('../api.js').Problem & {
 *   hold?: Money, balance?: Money, reason?: 'insufficient_wallet' | 'no_card' | 'card_declined',
 *   authentication_url?: string, attempt?: string, continue?: string }} PaymentProblem
 */

/**
 * @typedef {Object} SearchQuery
 * @property {string} [q]
 * @property {string} [category]
 * @property {string} [price_model]
 * @property {string} [currency]
 * @property {number} [min_price]
 * @property {number} [max_price]
 * @property {string} [language]
 * @property {number} [min_rating]
 * @property {string} [sort]
 * @property {string} [cursor]
 */

/**
 * @template T
 * @typedef {{ items: T[], more?: boolean, next?: string }} Page
 */

const base = '/api/v1';

/**
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  /** @type {Response} */
  let response;
  try {
    response = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, { title: 'Network error' }, null);
  }
  if (response.ok) return response.status === 204 ? undefined : response.json();
  /** @type {import('../api.js').Problem} */
  let problem = { status: response.status };
  if ((response.headers.get('Content-Type') ?? '').includes('json')) {
    try {
      problem = await response.json();
    } catch {
      // An unexplained failure.
    }
  }
  throw new ApiError(response.status, problem, null);
}

const id = encodeURIComponent;

/**
 * Uploads a photo or a video as the raw body; the server decides what it
 * is from its bytes.
 * @param {Blob} file
 * @returns {Promise<Media>}
 */
async function upload(file) {
  /** @type {Response} */
  let response;
  try {
    response = await fetch(`${base}/market/media`, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream' }, body: file,
    });
  } catch {
    throw new ApiError(0, { title: 'Network error' }, null);
  }
  if (response.ok) return response.json();
  /** @type {import('../api.js').Problem} */
  let problem = { status: response.status };
  try {
    problem = await response.json();
  } catch {
    // An unexplained failure.
  }
  throw new ApiError(response.status, problem, null);
}

/** @param {string} mediaId */
export const mediaURL = (mediaId) => `${base}/market/media/${encodeURIComponent(mediaId)}`;

export const marketApi = {
  /** @returns {Promise<Page<Category>>} */
  categories: () => request('GET', '/market/categories'),
  /**
   * @param {SearchQuery} query
   * @returns {Promise<Page<Listing>>}
   */
  search(query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '' && value !== null) params.set(key, String(value));
    }
    return request('GET', `/market/listings?${params}`);
  },
  /** @param {string} listingId @returns {Promise<Listing>} */
  listing: (listingId) => request('GET', `/market/listings/${id(listingId)}`),
  /** @param {string} listingId @returns {Promise<Page<string>>} RFC 3339 start times */
  slots: (listingId) => request('GET', `/market/listings/${id(listingId)}/slots?limit=12`),
  /** @param {string} listingId @returns {Promise<Page<Review>>} */
  reviews: (listingId) => request('GET', `/market/listings/${id(listingId)}/reviews`),
  /** @param {string} userId @returns {Promise<Expert>} */
  expert: (userId) => request('GET', `/market/experts/${id(userId)}`),
  /** @returns {Promise<Expert>} */
  myExpert: () => request('GET', '/market/experts/me'),
  /** @param {Application} input @returns {Promise<Expert>} */
  apply: (input) => request('POST', '/market/experts/apply', input),
  upload,
  /** @returns {Promise<Page<Listing>>} */
  myListings: () => request('GET', '/market/experts/me/listings'),
  /** @param {'expert' | 'listing'} subject @param {string} subjectId @returns {Promise<Page<Decision>>} */
  decisions: (subject, subjectId) => request('GET', `/market/${subject === 'expert' ? 'experts' : 'listings'}/${id(subjectId)}/decisions`),
  /** @param {ListingInput} input @returns {Promise<Listing>} */
  createListing: (input) => request('POST', '/market/listings', input),
  /** @param {string} listingId @param {ListingInput} input @returns {Promise<Listing>} */
  updateListing: (listingId, input) => request('PUT', `/market/listings/${id(listingId)}`, input),
  /** @returns {Promise<Availability>} */
  availability: () => request('GET', '/market/experts/me/availability'),
  /** @param {Availability} input @returns {Promise<Availability>} */
  setAvailability: (input) => request('PUT', '/market/experts/me/availability', input),
  /**
   * @param {{ listing: string, start?: string, now?: boolean }} input
   * @returns {Promise<MarketSession>}
   */
  book: (input) => request('POST', '/market/bookings', input),
  /** @param {string} attempt @returns {Promise<MarketSession>} completes a booking after 3-D Secure */
  confirmBooking: (attempt) => request('POST', `/market/bookings/${id(attempt)}/confirm`),
  /** @returns {Promise<Page<MarketSession>>} */
  sessions: () => request('GET', '/market/sessions'),
  /** @param {string} sessionId @returns {Promise<MarketSession>} */
  session: (sessionId) => request('GET', `/market/sessions/${id(sessionId)}`),
  /**
   * @param {string} sessionId
   * @param {'join' | 'end' | 'cancel'} action
   * @returns {Promise<MarketSession>}
   */
  sessionAction: (sessionId, action) => request('POST', `/market/sessions/${id(sessionId)}/${action}`),
  /** @param {string} sessionId @param {number} minutes @returns {Promise<MarketSession>} */
  extend: (sessionId, minutes) => request('POST', `/market/sessions/${id(sessionId)}/extend`, { minutes }),
  /** @param {string} sessionId @param {number} score @param {string} body @returns {Promise<Review>} */
  review: (sessionId, score, body) => request('POST', `/market/sessions/${id(sessionId)}/review`, { score, body }),
  /** @param {string} sessionId @param {string} reason @returns {Promise<Claim>} */
  claim: (sessionId, reason) => request('POST', `/market/sessions/${id(sessionId)}/claims`, { reason }),

  // The operator's.
  /** @param {string} status @returns {Promise<Page<Expert>>} */
  experts: (status) => request('GET', `/market/experts?status=${id(status)}`),
  /**
   * @param {'expert' | 'listing'} subject
   * @param {string} subjectId
   * @param {string} decision approve, reject, request_changes
   * @param {string} reason
   */
  decide: (subject, subjectId, decision, reason) =>
    request('POST', `/market/${subject === 'expert' ? 'experts' : 'listings'}/${id(subjectId)}/decisions`, { decision, reason }),
  /** @param {string} status @returns {Promise<Page<Claim>>} */
  claims: (status) => request('GET', `/market/claims?status=${id(status)}`),
  /** @param {string} claimId @param {boolean} approve @param {string} reason @returns {Promise<Claim>} */
  decideClaim: (claimId, approve, reason) => request('POST', `/market/claims/${id(claimId)}/${approve ? 'approve' : 'reject'}`, { reason }),

  // Payments by Stripe (404 with the wallet).
  /** @returns {Promise<{ provider: string, card: Card | null }>} */
  card: () => request('GET', '/billing/stripe/card'),
  /** @returns {Promise<{ id: string, url: string }>} Stripe's hosted page saving a card */
  checkout: () => request('POST', '/billing/stripe/checkout'),
  /** @param {string} checkoutId @returns {Promise<{ card: Card }>} */
  completeCheckout: (checkoutId) => request('POST', `/billing/stripe/checkout/${id(checkoutId)}/complete`),
  /** @returns {Promise<Payouts>} */
  stripePayouts: () => request('GET', '/billing/stripe/account'),
  /** @param {string} country @returns {Promise<{ account: string, onboarding_url: string, ready: boolean }>} */
  openAccount: (country) => request('POST', '/billing/stripe/account', { country }),

  // Billing.
  /** @returns {Promise<Page<Balance>>} */
  balance: () => request('GET', '/billing/balance'),
  /** @param {string} userId @param {Money} amount @param {string} note */
  topUp: (userId, amount, note) => request('POST', '/billing/topups', { user_id: userId, amount, note }),
  /**
   * @param {string} currency
   * @param {number} minimum
   * @returns {Promise<Page<{ payee_id: string, amount: Money }>>}
   */
  payouts: (currency, minimum) => request('POST', '/billing/payouts', { currency, minimum }),
  /** @param {string} query @returns {Promise<Page<{ id: string, name: string, email?: string }>>} */
  users: (query) => request('GET', `/users?${new URLSearchParams({ query, limit: '10' })}`),
};

/** Where the operator downloads the ledger for accounting. */
export const ledgerCsvUrl = `${base}/billing/ledger?format=csv`;
