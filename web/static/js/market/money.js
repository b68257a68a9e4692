// Money as the marketplace shows it: amounts arrive in a currency's minor
// units (150 USD is $1.50; KRW has no minor unit, 1500 KRW is ₩1,500) and
// are formatted with Intl.NumberFormat for the ISO currency. The billing
// rules the server applies (internal/market/pricing.go) are mirrored here
// only to say them in words and to show what a session holds beforehand;
// what is charged is always the server's figure.

/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('./market-api.js').Money} Money */
/** @typedef {import('./market-api.js').Listing} Listing */

/** The pre-authorised block of an open-ended per-minute session (HoldBlockMinutes). */
export const holdBlockMinutes = 15;

/**
 * The digits after the decimal point of a currency's minor unit.
 * @param {string} currency ISO 4217
 * @returns {number}
 */
export function minorDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * @param {I18n} i18n
 * @param {number} amount minor units
 * @param {string} currency
 * @returns {string}
 */
export function formatMoney(i18n, amount, currency) {
  const digits = minorDigits(currency);
  const major = amount / 10 ** digits;
  try {
    return new Intl.NumberFormat(i18n.locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

/**
 * @param {I18n} i18n
 * @param {Money} money
 */
export function money(i18n, money) {
  return formatMoney(i18n, money.amount, money.currency);
}

/**
 * Reads an amount typed in major units ("1.50") as minor units (150), or
 * null when it is not a plain non-negative number with at most the
 * currency's digits.
 * @param {string} text
 * @param {string} currency
 * @returns {number | null}
 */
export function parseMajor(text, currency) {
  const digits = minorDigits(currency);
  const trimmed = text.trim().replace(/,/g, '');
  const pattern = digits > 0 ? new RegExp(`^\\d+(\\.\\d{1,${digits}})?$`) : /^\d+$/;
  if (!pattern.test(trimmed)) return null;
  const [whole, fraction = ''] = trimmed.split('.');
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/**
 * Minor units as the major-unit text an input shows ("1.50").
 * @param {number} amount
 * @param {string} currency
 */
export function toMajorText(amount, currency) {
  const digits = minorDigits(currency);
  return (amount / 10 ** digits).toFixed(digits);
}

/**
 * What a session costs for its billable seconds: pricing.go's Charge.
 * @param {string} model
 * @param {number} price
 * @param {number} minMinutes
 * @param {number} seconds
 */
export function charge(model, price, minMinutes, seconds) {
  if (seconds <= 0) return 0;
  const minutes = Math.max(Math.ceil(seconds / 60), minMinutes);
  if (model === 'per_minute') return minutes * price;
  if (model === 'per_hour') return Math.floor((price * minutes + 30) / 60);
  if (model === 'per_session') return price;
  return 0;
}

/**
 * What booking the listing holds from the wallet first (pricing.go's
 * HoldFor), and for how many minutes.
 * @param {Listing} listing
 * @returns {{ amount: number, minutes: number }}
 */
export function holdFor(listing) {
  let minutes = holdBlockMinutes;
  if (listing.session_minutes !== null) minutes = listing.session_minutes;
  else if (listing.price_model === 'per_hour') minutes = 60;
  return { amount: charge(listing.price_model, listing.price.amount, listing.min_billable_minutes, minutes * 60), minutes };
}

/**
 * The price in a few words for a card: "$1.50 / min".
 * @param {I18n} i18n
 * @param {Listing} listing
 */
export function priceShort(i18n, listing) {
  if (listing.price_model === 'free') return i18n.t('market.price.free');
  const price = money(i18n, listing.price);
  if (listing.price_model === 'per_minute') return i18n.t('market.price.perMinuteShort', { price });
  if (listing.price_model === 'per_hour') return i18n.t('market.price.perHourShort', { price });
  return i18n.t('market.price.perSessionShort', { price });
}

/**
 * The price and its rules in plain words: "$1.50 a minute, billed by the
 * started minute, at least 1 minute".
 * @param {I18n} i18n
 * @param {{ price_model: string, price: Money, min_billable_minutes: number, session_minutes: number | null }} listing
 */
export function priceRule(i18n, listing) {
  const price = money(i18n, listing.price);
  const min = listing.min_billable_minutes;
  const minimum = min === 1 ? i18n.t('market.rule.minimumOne') : i18n.t('market.rule.minimumMany', { minutes: min });
  switch (listing.price_model) {
    case 'per_minute':
      return i18n.t('market.rule.perMinute', { price, minimum });
    case 'per_hour':
      return i18n.t('market.rule.perHour', { price, minimum });
    case 'per_session':
      return i18n.t('market.rule.perSession', { price, minutes: listing.session_minutes ?? 0 });
    default:
      return i18n.t('market.rule.free');
  }
}

/**
 * Seconds as m:ss (or h:mm:ss).
 * @param {number} seconds
 */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
