// /market/expert: becoming and being an expert — the application (profile,
// languages, categories, credentials, and for Health a licence), where its
// review stands with the operator's reasons, then the listings (create and
// edit), the availability (weekly hours in the expert's zone, buffer,
// daily maximum, "available now") and the earnings.

import { ApiError } from '../api.js';
import { el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { minorDigits, parseMajor, priceShort, toMajorText } from './money.js';
import { categoryName, field, marketPage, mediaPicker, splitList, statusName } from './shared.js';
import { balanceList, sessionList } from './wallet-view.js';
import { payoutsSection } from './stripe.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').Expert} Expert */
/** @typedef {import('./market-api.js').Category} Category */
/** @typedef {import('./market-api.js').Listing} Listing */
/** @typedef {import('./market-api.js').ListingInput} ListingInput */
/** @typedef {import('./market-api.js').Availability} Availability */

const weekdays = /** @type {const} */ (['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
const currencies = ['USD', 'EUR', 'GBP', 'KRW', 'JPY'];

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function expertView(ctx) {
  const { i18n } = ctx;
  const errors = Notice.create('error');
  const body = el('div', { class: 'stack' }, el('p', { class: 'muted' }, i18n.t('app.loading')));
  const element = marketPage(ctx, 'expert',
    el('section', { class: 'card', 'aria-labelledby': 'expert-title' },
      el('h1', { id: 'expert-title', tabindex: -1 }, i18n.t('market.expert.title')), errors),
    body);

  const load = async () => {
    const categories = (await marketApi.categories()).items;
    /** @type {Expert | null} */
    let expert = null;
    try {
      expert = await marketApi.myExpert();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    if (!expert) {
      body.replaceChildren(applicationForm(ctx, categories, null, () => void load()));
      return;
    }
    const decisions = (await marketApi.decisions('expert', expert.user_id).catch(() => ({ items: [] }))).items;
    /** @type {(Node | null)[]} */
    const parts = [statusCard(ctx, expert, decisions)];
    if (expert.status === 'approved') {
      parts.push(await payoutsSection(ctx));
      parts.push(await listingsCard(ctx, categories));
      parts.push(await availabilityCard(ctx, expert));
      parts.push(await earningsCard(ctx));
      parts.push(el('details', { class: 'card' }, el('summary', {}, i18n.t('market.expert.editProfile')),
        applicationForm(ctx, categories, expert, () => void load())));
    } else if (expert.status === 'pending' || expert.status === 'changes_requested') {
      parts.push(applicationForm(ctx, categories, expert, () => void load()));
    }
    body.replaceChildren(...parts.filter((p) => p !== null));
  };
  load().catch((error) => {
    body.replaceChildren();
    if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
  });
  return { element, title: i18n.t('market.expert.title') };
}

/**
 * @param {ViewContext} ctx
 * @param {Expert} expert
 * @param {import('./market-api.js').Decision[]} decisions
 */
function statusCard(ctx, expert, decisions) {
  const { i18n } = ctx;
  return el('section', { class: 'card', 'aria-labelledby': 'expert-status-title', 'data-expert-status': expert.status },
    el('h2', { id: 'expert-status-title' }, i18n.t('market.expert.status')),
    el('p', {}, el('span', { class: 'badge' }, statusName(i18n, expert.status)), ' ', i18n.t(/** @type {const} */ (`market.expert.statusHint.${expertStatusHint(expert.status)}`))),
    decisions.length > 0
      ? el('ul', { class: 'item-list' }, ...decisions.map((d) => el('li', { class: 'item' },
        el('div', { class: 'item-main' },
          el('span', { class: 'item-title' }, statusName(i18n, d.decision)),
          d.reason ? el('span', {}, d.reason) : null,
          el('span', { class: 'item-meta' }, i18n.formatDateTime(d.decided_at))))))
      : null);
}

/** @param {string} status */
function expertStatusHint(status) {
  return /** @type {'pending' | 'approved' | 'rejected' | 'changes_requested' | 'suspended'} */ (
    ['pending', 'approved', 'rejected', 'changes_requested', 'suspended'].includes(status) ? status : 'pending');
}

/**
 * The application, new or edited.
 * @param {ViewContext} ctx
 * @param {Category[]} categories
 * @param {Expert | null} expert
 * @param {() => void} done
 */
function applicationForm(ctx, categories, expert, done) {
  const { i18n } = ctx;
  const input = (/** @type {string} */ name, /** @type {string} */ value) => el('input', { type: 'text', id: uniqueId(name), name, value });
  const headline = input('headline', expert?.headline ?? '');
  const bio = el('textarea', { id: uniqueId('bio'), rows: 5 });
  bio.value = expert?.bio ?? '';
  const languages = input('languages', (expert?.languages ?? [i18n.locale]).join(', '));
  const credentials = el('textarea', { id: uniqueId('credentials'), rows: 3 });
  credentials.value = expert?.credentials ?? '';
  const licence = input('licence_number', expert?.licence_number ?? '');
  const jurisdiction = input('licence_jurisdiction', expert?.licence_jurisdiction ?? '');
  const zone = input('time_zone', expert?.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  const photo = mediaPicker(i18n, 'photo', expert?.photo);
  const boxes = categories.map((c) => {
    const boxId = uniqueId('cat');
    const box = el('input', { type: 'checkbox', id: boxId, value: c.key, checked: expert?.categories.includes(c.key) ?? false, 'data-health': c.health });
    return { box, c, node: el('span', { class: 'market-check' }, box, el('label', { for: boxId }, categoryName(i18n, c.key, categories))) };
  });
  const licenceFields = el('div', { class: 'stack' },
    el('p', { class: 'muted' }, i18n.t('market.apply.licenceHint')),
    field(i18n.t('market.apply.licence'), licence),
    field(i18n.t('market.apply.jurisdiction'), jurisdiction));
  const syncHealth = () => {
    licenceFields.hidden = !boxes.some(({ box, c }) => c.health && box.checked);
  };
  for (const { box } of boxes) box.addEventListener('change', syncHealth);
  syncHealth();
  const notice = Notice.create('error');
  const form = el('form', { class: 'card stack', 'aria-labelledby': 'apply-title' },
    el('h2', { id: 'apply-title' }, i18n.t(expert ? 'market.apply.editTitle' : 'market.apply.title')),
    expert ? null : el('p', { class: 'lead' }, i18n.t('market.apply.intro')),
    field(i18n.t('market.apply.headline'), headline),
    field(i18n.t('market.apply.bio'), bio),
    photo.node,
    field(i18n.t('market.apply.languages'), languages, i18n.t('market.apply.languagesHint')),
    el('fieldset', { class: 'market-checks' }, el('legend', {}, i18n.t('market.apply.categories')), ...boxes.map((b) => b.node)),
    field(i18n.t('market.apply.credentials'), credentials),
    licenceFields,
    field(i18n.t('market.apply.timeZone'), zone),
    notice,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t(expert ? 'market.apply.save' : 'market.apply.submit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    try {
      await marketApi.apply({
        headline: headline.value, bio: bio.value, languages: splitList(languages.value),
        categories: boxes.filter(({ box }) => box.checked).map(({ c }) => c.key),
        credentials: credentials.value, licence_number: licence.value, licence_jurisdiction: jurisdiction.value, time_zone: zone.value.trim(),
        photo: photo.value(),
      });
      done();
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
    }
  });
  return form;
}

/**
 * The problem and each field's error, in lines.
 * @param {ViewContext} ctx
 * @param {unknown} error
 */
export function problemLines(ctx, error) {
  const lines = [describeError(error, ctx.i18n)];
  if (error instanceof ApiError) for (const { field: name, detail } of error.fieldErrors) lines.push(`${name}: ${detail}`);
  return lines;
}

/**
 * @param {ViewContext} ctx
 * @param {Category[]} categories
 */
async function listingsCard(ctx, categories) {
  const { i18n } = ctx;
  const listings = (await marketApi.myListings()).items;
  const editor = el('div', {});
  const list = el('ul', { class: 'item-list' }, ...listings.map((listing) => {
    const edit = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('market.listingForm.edit'));
    edit.addEventListener('click', () => {
      editor.replaceChildren(listingForm(ctx, categories, listing, () => void reloadView(ctx)));
      editor.querySelector('input')?.focus();
    });
    return el('li', { class: 'item', 'data-listing': listing.id },
      el('div', { class: 'item-main' },
        el('a', { class: 'item-title', href: `/market/listings/${encodeURIComponent(listing.id)}` }, listing.title),
        el('span', { class: 'item-meta' }, statusName(i18n, listing.status), ' · ', priceShort(i18n, listing))),
      edit);
  }));
  const add = el('button', { type: 'button', class: 'button-primary' }, i18n.t('market.listingForm.new'));
  add.addEventListener('click', () => {
    editor.replaceChildren(listingForm(ctx, categories, null, () => void reloadView(ctx)));
    editor.querySelector('input')?.focus();
  });
  return el('section', { class: 'card', 'aria-labelledby': 'my-listings-title' },
    el('h2', { id: 'my-listings-title' }, i18n.t('market.expert.listings')),
    listings.length > 0 ? list : el('p', { class: 'muted' }, i18n.t('market.expert.noListings')),
    el('p', { class: 'muted' }, i18n.t('market.expert.reviewNote')),
    add, editor);
}

/** @param {ViewContext} ctx */
function reloadView(ctx) {
  ctx.navigate('/market/expert');
}

/**
 * Creating or editing a listing.
 * @param {ViewContext} ctx
 * @param {Category[]} categories
 * @param {Listing | null} listing
 * @param {() => void} done
 */
function listingForm(ctx, categories, listing, done) {
  const { i18n } = ctx;
  const text = (/** @type {string} */ name, /** @type {string} */ value, /** @type {Record<string, string>} */ extra = {}) =>
    el('input', { type: 'text', id: uniqueId(name), name, value, ...extra });
  const title = text('title', listing?.title ?? '');
  const description = el('textarea', { id: uniqueId('description'), rows: 5 });
  description.value = listing?.description ?? '';
  const category = el('select', { id: uniqueId('category') },
    ...categories.map((c) => el('option', { value: c.key, selected: listing?.category === c.key }, categoryName(i18n, c.key, categories))));
  const languages = text('languages', (listing?.languages ?? [i18n.locale]).join(', '));
  const model = el('select', { id: uniqueId('model') },
    ...['per_minute', 'per_hour', 'per_session', 'free'].map((m) => el('option', { value: m, selected: (listing?.price_model ?? 'per_minute') === m },
      i18n.t(/** @type {const} */ (`market.model.${/** @type {'free' | 'per_minute' | 'per_hour' | 'per_session'} */ (m)}`)))));
  const currency = el('select', { id: uniqueId('currency') },
    ...currencies.map((c) => el('option', { value: c, selected: (listing?.price.currency ?? 'USD') === c }, c)));
  const price = text('price', listing ? toMajorText(listing.price.amount, listing.price.currency) : '', { inputmode: 'decimal' });
  const minimum = el('input', { type: 'number', id: uniqueId('minimum'), min: 0, max: 120, value: String(listing?.min_billable_minutes ?? 1) });
  const length = el('input', { type: 'number', id: uniqueId('length'), min: 5, max: 480, value: listing?.session_minutes ? String(listing.session_minutes) : '' });
  const cancellation = el('select', { id: uniqueId('cancellation') },
    ...(/** @type {const} */ (['flexible', 'moderate', 'strict'])).map((p) => el('option', { value: p, selected: (listing?.cancellation ?? 'flexible') === p },
      `${i18n.t(/** @type {const} */ (`market.policyName.${p}`))} — ${i18n.t(/** @type {const} */ (`market.policy.${p}`))}`)));
  const intro = mediaPicker(i18n, 'video', listing?.intro_video);
  const startNowId = uniqueId('startnow');
  const startNow = el('input', { type: 'checkbox', id: startNowId, checked: listing?.start_now ?? true });
  const notice = Notice.create('error');
  const form = el('form', { class: 'stack market-listing-form', 'aria-labelledby': `${startNowId}-title` },
    el('h3', { id: `${startNowId}-title` }, i18n.t(listing ? 'market.listingForm.editTitle' : 'market.listingForm.newTitle')),
    field(i18n.t('market.listingForm.title'), title),
    field(i18n.t('market.listingForm.description'), description),
    intro.node,
    field(i18n.t('market.filter.category'), category),
    field(i18n.t('market.apply.languages'), languages, i18n.t('market.apply.languagesHint')),
    field(i18n.t('market.filter.priceModel'), model),
    el('div', { class: 'market-row' }, field(i18n.t('market.listingForm.price'), price), field(i18n.t('market.filter.currency'), currency)),
    field(i18n.t('market.listingForm.minimum'), minimum, i18n.t('market.listingForm.minimumHint')),
    field(i18n.t('market.listingForm.length'), length, i18n.t('market.listingForm.lengthHint')),
    field(i18n.t('market.listing.cancellation'), cancellation),
    el('span', { class: 'market-check' }, startNow, el('label', { for: startNowId }, i18n.t('market.listingForm.startNow'))),
    notice,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t(listing ? 'market.listingForm.save' : 'market.listingForm.create')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    const free = model.value === 'free';
    const amount = free ? 0 : parseMajor(price.value, currency.value);
    if (amount === null) {
      notice.show(i18n.t('market.listingForm.badPrice', { digits: minorDigits(currency.value) }));
      price.focus();
      return;
    }
    const metered = model.value === 'per_minute' || model.value === 'per_hour';
    /** @type {ListingInput} */
    const input = {
      title: title.value, description: description.value, category: category.value, languages: splitList(languages.value),
      price_model: /** @type {ListingInput['price_model']} */ (model.value), price: { amount, currency: currency.value },
      min_billable_minutes: metered ? Number(minimum.value || '1') : 0,
      session_minutes: length.value.trim() === '' ? null : Number(length.value),
      cancellation: cancellation.value, start_now: startNow.checked, intro_video: intro.value(),
    };
    try {
      if (listing) await marketApi.updateListing(listing.id, input);
      else await marketApi.createListing(input);
      done();
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
    }
  });
  return form;
}

/**
 * Weekly hours (one span a day), buffer, daily maximum, available now.
 * @param {ViewContext} ctx
 * @param {Expert} expert
 */
async function availabilityCard(ctx, expert) {
  const { i18n } = ctx;
  const current = await marketApi.availability();
  const zone = el('input', { type: 'text', id: uniqueId('zone'), value: current.hours.time_zone && current.hours.time_zone !== 'UTC' ? current.hours.time_zone : expert.time_zone });
  const dayNames = new Intl.DateTimeFormat(i18n.locale, { weekday: 'long' });
  const rows = weekdays.map((day, index) => {
    const span = current.hours.weekly?.[day]?.[0];
    const onId = uniqueId(day);
    const on = el('input', { type: 'checkbox', id: onId, checked: Boolean(span) });
    // 2024-01-01 was a Monday.
    const name = dayNames.format(new Date(Date.UTC(2024, 0, 1 + index, 12)));
    const open = el('input', { type: 'time', value: span?.open ?? '09:00', 'aria-label': i18n.t('market.hours.opens', { day: name }) });
    const close = el('input', { type: 'time', value: span?.close ?? '17:00', 'aria-label': i18n.t('market.hours.closes', { day: name }) });
    return { day, on, open, close, node: el('div', { class: 'market-hours-row' }, el('span', { class: 'market-check' }, on, el('label', { for: onId }, name)), open, close) };
  });
  const buffer = el('input', { type: 'number', id: uniqueId('buffer'), min: 0, max: 240, value: String(current.buffer_minutes) });
  const maxPerDay = el('input', { type: 'number', id: uniqueId('max'), min: 1, max: 48, value: String(current.max_per_day) });
  const nowId = uniqueId('now');
  const availableNow = el('input', { type: 'checkbox', id: nowId, role: 'switch', checked: current.available_now });
  const notice = Notice.create('error');
  const saved = Notice.create('success');
  const form = el('form', { class: 'card stack', 'aria-labelledby': 'availability-title' },
    el('h2', { id: 'availability-title' }, i18n.t('market.hours.title')),
    el('span', { class: 'market-check market-switch' }, availableNow, el('label', { for: nowId }, i18n.t('market.hours.availableNow'))),
    field(i18n.t('market.apply.timeZone'), zone),
    el('fieldset', { class: 'market-hours' }, el('legend', {}, i18n.t('market.hours.weekly')), ...rows.map((r) => r.node)),
    el('div', { class: 'market-row' }, field(i18n.t('market.hours.buffer'), buffer), field(i18n.t('market.hours.maxPerDay'), maxPerDay)),
    notice, saved,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('market.hours.save')));
  const save = async () => {
    notice.clear();
    saved.clear();
    /** @type {Record<string, import('./market-api.js').Interval[]>} */
    const weekly = {};
    for (const r of rows) if (r.on.checked) weekly[r.day] = [{ open: r.open.value, close: r.close.value }];
    try {
      await marketApi.setAvailability({
        hours: { time_zone: zone.value.trim(), weekly }, buffer_minutes: Number(buffer.value || '0'),
        max_per_day: Number(maxPerDay.value || '8'), available_now: availableNow.checked,
      });
      saved.show(i18n.t('market.hours.saved'));
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void save();
  });
  // The switch takes effect at once.
  availableNow.addEventListener('change', () => void save());
  return form;
}

/** @param {ViewContext} ctx */
async function earningsCard(ctx) {
  const { i18n } = ctx;
  const [balance, sessions] = await Promise.all([marketApi.balance(), marketApi.sessions()]);
  return el('section', { class: 'card', 'aria-labelledby': 'earnings-title' },
    el('h2', { id: 'earnings-title' }, i18n.t('market.expert.earnings')),
    el('p', { class: 'muted' }, i18n.t('market.expert.earningsHint')),
    balanceList(ctx, balance.items),
    await sessionList(ctx, sessions.items, 'expert'));
}
