// The desk manager's screens (/desk/manage): the live wallboard (read
// again every few seconds), each queue's report for a range of days with
// a CSV download, the Erlang C staffing calculator, a minimal editor to
// add a queue (channels, open hours every day in a time zone, allowed
// origins) and to make someone an agent of queues, and the webhooks: list,
// add (the signing secret shown once), delete, and each one's delivery log.

import { el, replaceChildren } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { DeskApi } from './desk-api.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/** How often the wallboard, and an open delivery log, are read again. */
const wallboardEveryMs = 5000;

/** The events a webhook may follow (internal/desk/webhooks.go). */
const webhookEvents = ['request.created', 'request.answered', 'request.abandoned', 'session.ended', 'csat.submitted'];

/** The channels a queue may offer. */
const channelNames = /** @type {const} */ (['video', 'voice', 'chat']);

/** @type {{ stop: () => void } | null} */
let running = null;

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function deskManagerView(ctx) {
  running?.stop();
  const { i18n } = ctx;
  /** @param {MessageKey} key @param {Record<string, string | number>} [params] */
  const t = (key, params) => i18n.t(key, params);
  const api = new DeskApi();
  const notice = Notice.create('error');
  /** @param {unknown} error */
  const fail = (error) => {
    if (!ctx.intercept(error)) notice.show(describeError(error, i18n));
  };

  // The wallboard.
  const board = el('div', { class: 'desk-wallboard', 'aria-live': 'off' });
  /** @type {number | undefined} */
  let timer;
  let stopped = false;
  const readBoard = async () => {
    window.clearTimeout(timer);
    if (stopped) return;
    try {
      const wb = await api.request('GET', '/wallboard');
      replaceChildren(board, ...wb.items.map((/** @type {any} */ q) => {
        const agents = Object.entries(q.agents ?? {}).map(([status, n]) => `${statusName(status)}: ${n}`).join(' · ');
        const sl = q.today?.service_level;
        return el('section', { class: 'card', 'aria-label': q.queue_name, 'data-queue': q.queue_id },
          el('h3', {}, q.queue_name, ' ', el('span', { class: 'desk-badge' }, q.open ? t('desk.open') : t('desk.closed'))),
          el('dl', { class: 'desk-figures' },
            figure(t('desk.waitingNow'), q.waiting),
            figure(t('desk.longestWait'), formatSeconds(q.longest_wait_seconds)),
            figure(t('desk.answeredToday'), q.today?.answered ?? 0),
            figure(t('desk.serviceLevel'), sl == null ? '—' : `${Math.round(sl * 100)}%`)),
          el('p', { class: 'muted' }, agents || t('desk.noAgents')));
      }));
    } catch (error) {
      fail(error);
    }
    if (!stopped && board.isConnected !== false) timer = window.setTimeout(() => void readBoard(), wallboardEveryMs);
  };
  running = { stop: () => { stopped = true; window.clearTimeout(timer); } };

  /** @param {string} status */
  const statusName = (status) => {
    const key = `desk.status.${status}`;
    return i18n.has(key) ? i18n.t(key) : status;
  };

  // Reports.
  const queueSelect = el('select', { id: 'report-queue' });
  const today = new Date().toISOString().slice(0, 10);
  const from = el('input', { type: 'date', id: 'report-from', value: today });
  const to = el('input', { type: 'date', id: 'report-to', value: today });
  const csv = el('a', { class: 'button-secondary', download: true, href: '#' }, t('desk.downloadCsv'));
  const reportTable = el('div', {});
  const reportForm = el('form', { class: 'desk-form-row' },
    field('report-queue', t('desk.queue'), queueSelect), field('report-from', t('desk.from'), from), field('report-to', t('desk.to'), to),
    el('button', { type: 'submit', class: 'button-primary' }, t('desk.showReport')), csv);
  const reportPath = () => `/queues/${encodeURIComponent(queueSelect.value)}/report?from=${from.value}&to=${to.value}`;
  const showReport = async () => {
    if (!queueSelect.value) return;
    csv.href = `/api/v1/desk${reportPath()}&format=csv`;
    try {
      const report = await api.request('GET', reportPath());
      const cols = /** @type {[MessageKey, (d: any) => string | number][]} */ ([
        ['desk.date', (d) => d.date], ['desk.offered', (d) => d.offered], ['desk.answered', (d) => d.answered],
        ['desk.abandoned', (d) => d.abandoned], ['desk.serviceLevel', (d) => percent(d.service_level)],
        ['desk.asa', (d) => seconds(d.average_speed_of_answer_seconds)], ['desk.aht', (d) => seconds(d.average_handle_seconds)],
        ['desk.csat', (d) => d.csat == null ? '—' : d.csat.toFixed(2)], ['desk.ratings', (d) => d.ratings],
      ]);
      replaceChildren(reportTable, el('table', { class: 'desk-table' },
        el('caption', { class: 'visually-hidden' }, t('desk.report')),
        el('thead', {}, el('tr', {}, ...cols.map(([k], i) => el('th', { scope: 'col', class: i ? 'num' : undefined }, t(k))))),
        el('tbody', {}, ...report.days.map((/** @type {any} */ d) => el('tr', {}, ...cols.map(([, f], i) => el('td', { class: i ? 'num' : undefined }, f(d))))))));
    } catch (error) {
      fail(error);
    }
  };
  reportForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void showReport();
  });
  queueSelect.addEventListener('change', () => void showReport());

  // Staffing.
  const calls = el('input', { type: 'number', id: 'st-calls', min: 0, step: 'any', value: 60 });
  const handle = el('input', { type: 'number', id: 'st-handle', min: 1, step: 'any', value: 240 });
  const level = el('input', { type: 'number', id: 'st-level', min: 1, max: 99, step: 'any', value: 80 });
  const answer = el('input', { type: 'number', id: 'st-answer', min: 0, step: 'any', value: 20 });
  const staffingOut = el('output', { for: 'st-calls st-handle st-level st-answer', class: 'desk-staffing' });
  const staffing = el('form', { class: 'desk-form-row' },
    field('st-calls', t('desk.callsPerHour'), calls), field('st-handle', t('desk.handleSeconds'), handle),
    field('st-level', t('desk.targetLevel'), level), field('st-answer', t('desk.answerSeconds'), answer),
    el('button', { type: 'submit', class: 'button-primary' }, t('desk.calculate')));
  staffing.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const r = await api.request('POST', '/staffing', {
        calls_per_hour: Number(calls.value), handle_time_seconds: Number(handle.value),
        service_level: Number(level.value) / 100, answer_time_seconds: Number(answer.value),
      });
      staffingOut.textContent = t('desk.staffingResult', {
        agents: r.agents, level: percent(r.service_level), occupancy: percent(r.occupancy), asa: seconds(r.average_speed_of_answer_seconds),
      });
    } catch (error) {
      fail(error);
    }
  });

  // A new queue, open every day.
  const qKey = el('input', { type: 'text', id: 'q-key', required: true, pattern: '[a-z0-9][a-z0-9-]*' });
  const qName = el('input', { type: 'text', id: 'q-name', required: true });
  const qZone = el('input', { type: 'text', id: 'q-zone', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const qOpen = el('input', { type: 'time', id: 'q-open', value: '09:00' });
  const qClose = el('input', { type: 'time', id: 'q-close', value: '17:00' });
  const qOrigins = el('input', { type: 'text', id: 'q-origins', placeholder: 'https://shop.example' });
  const qChannels = channelNames.map((c) => el('input', { type: 'checkbox', id: `q-channel-${c}`, value: c, checked: c !== 'voice' }));
  const queueForm = el('form', { class: 'desk-form-row' },
    field('q-key', t('desk.queueKey'), qKey), field('q-name', t('desk.queueName'), qName), field('q-zone', t('desk.timeZone'), qZone),
    field('q-open', t('desk.opens'), qOpen), field('q-close', t('desk.closes'), qClose), field('q-origins', t('desk.origins'), qOrigins),
    el('fieldset', { class: 'desk-checks' }, el('legend', {}, t('desk.channels')),
      ...qChannels.map((box, i) => el('label', { for: box.id }, box, ' ', t(/** @type {MessageKey} */ (`desk.channel.${channelNames[i]}`))))),
    el('button', { type: 'submit', class: 'button-primary' }, t('desk.addQueue')));
  queueForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    /** @type {Record<string, { open: string, close: string }[]>} */
    const weekly = {};
    for (const day of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']) {
      weekly[day] = [{ open: qOpen.value, close: qClose.value === '00:00' ? '24:00' : qClose.value }];
    }
    try {
      await api.request('POST', '/queues', {
        key: qKey.value.trim(), name: qName.value.trim(), channels: qChannels.filter((box) => box.checked).map((box) => box.value),
        hours: { time_zone: qZone.value.trim(), weekly }, origins: qOrigins.value.split(/[\s,]+/).filter(Boolean),
      });
      queueForm.reset();
      await loadQueues();
    } catch (error) {
      fail(error);
    }
  });

  // Agents.
  const aUser = el('input', { type: 'text', id: 'a-user', required: true });
  const aQueues = el('input', { type: 'text', id: 'a-queues', required: true });
  const aManager = el('input', { type: 'checkbox', id: 'a-manager' });
  const agentsTable = el('div', {});
  const agentForm = el('form', { class: 'desk-form-row' },
    field('a-user', t('desk.userId'), aUser), field('a-queues', t('desk.agentQueues'), aQueues),
    el('div', { class: 'field' }, el('label', {}, aManager, ' ', t('desk.managerFlag'))),
    el('button', { type: 'submit', class: 'button-primary' }, t('desk.saveAgent')));
  agentForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    try {
      await api.request('PUT', `/agents/${encodeURIComponent(aUser.value.trim())}`, {
        queues: aQueues.value.split(/[\s,]+/).filter(Boolean), skills: {}, max_chats: 1, manager: aManager.checked,
      });
      agentForm.reset();
      await loadAgents();
    } catch (error) {
      fail(error);
    }
  });
  const loadAgents = async () => {
    try {
      const agents = await api.request('GET', '/agents');
      replaceChildren(agentsTable, el('table', { class: 'desk-table' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('desk.agent')), el('th', { scope: 'col' }, t('desk.status')), el('th', { scope: 'col' }, t('desk.agentQueues')))),
        el('tbody', {}, ...agents.items.map((/** @type {any} */ a) => el('tr', {},
          el('td', {}, a.name), el('td', {}, statusName(a.status)),
          el('td', {}, a.queues.map((/** @type {string} */ id) => queueNames.get(id) ?? id).join(', ')))))));
    } catch (error) {
      fail(error);
    }
  };

  /** @type {Map<string, string>} */
  const queueNames = new Map();
  const loadQueues = async () => {
    try {
      const queues = await api.request('GET', '/queues');
      const chosen = queueSelect.value;
      queueNames.clear();
      replaceChildren(queueSelect, ...queues.items.map((/** @type {any} */ q) => {
        queueNames.set(q.id, q.name);
        return el('option', { value: q.id, selected: q.id === chosen }, `${q.name} (${q.key})`);
      }));
      void showReport();
    } catch (error) {
      fail(error);
    }
  };

  // Webhooks.
  const hookUrl = el('input', { type: 'url', id: 'wh-url', required: true, placeholder: 'https://crm.example/hooks/parley' });
  const hookEvents = webhookEvents.map((name) => el('input', { type: 'checkbox', id: `wh-event-${name}`, value: name, checked: true }));
  const secretBox = el('div', { class: 'desk-secret', role: 'status' });
  const hooksList = el('div', { class: 'desk-webhooks' });
  const hookForm = el('form', { class: 'desk-form-row' },
    field('wh-url', t('desk.webhookUrl'), hookUrl),
    el('fieldset', { class: 'desk-checks' }, el('legend', {}, t('desk.webhookEvents')),
      ...hookEvents.map((box) => el('label', { for: box.id }, box, ' ', el('code', {}, box.value)))),
    el('button', { type: 'submit', class: 'button-primary' }, t('desk.addWebhook')));
  hookForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    const events = hookEvents.filter((box) => box.checked).map((box) => box.value);
    if (events.length === 0) {
      hookEvents[0].focus();
      return;
    }
    try {
      const made = await api.createWebhook(hookUrl.value.trim(), events);
      hookForm.reset();
      // The secret is in this answer only: show it once, to copy.
      const secret = el('input', { type: 'text', id: 'wh-secret', readonly: true, value: made.secret ?? '', class: 'desk-secret-value' });
      replaceChildren(secretBox, el('label', { for: 'wh-secret' }, t('desk.webhookSecret', { url: made.url })), secret);
      await loadWebhooks();
      secret.focus();
      secret.select();
    } catch (error) {
      fail(error);
    }
  });
  /** The delivery logs open now, by webhook id, with how to read them again. @type {Map<string, () => Promise<void>>} */
  const openLogs = new Map();
  /** @type {number | undefined} */
  let logTimer;
  const readLogs = async () => {
    window.clearTimeout(logTimer);
    if (stopped) return;
    await Promise.all([...openLogs.values()].map((read) => read()));
    if (!stopped && openLogs.size > 0) logTimer = window.setTimeout(() => void readLogs(), wallboardEveryMs);
  };
  /** @param {import('./desk-api.js').DeskWebhook} hook */
  const webhookCard = (hook) => {
    const logId = `wh-log-${hook.id}`;
    const log = el('div', { class: 'desk-deliveries', id: logId, hidden: true });
    const readLog = async () => {
      try {
        const list = await api.deliveries(hook.id);
        replaceChildren(log, list.items.length === 0 ? el('p', { class: 'muted' }, t('desk.noDeliveries')) : deliveriesTable(list.items));
      } catch (error) {
        fail(error);
      }
    };
    const toggle = el('button', { type: 'button', class: 'button-secondary', 'aria-expanded': 'false', 'aria-controls': logId }, t('desk.deliveries'));
    const refresh = el('button', { type: 'button', class: 'button-secondary', hidden: true }, t('desk.refresh'));
    toggle.addEventListener('click', () => {
      const open = log.hidden;
      log.hidden = !open;
      refresh.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? t('desk.hideDeliveries') : t('desk.deliveries');
      if (open) {
        openLogs.set(hook.id, readLog);
        void readLogs();
      } else {
        openLogs.delete(hook.id);
      }
    });
    refresh.addEventListener('click', () => void readLog());
    // Delete asks first, in place: "Delete the webhook …?" Delete / Keep.
    const remove = el('button', { type: 'button', class: 'button-danger' }, t('desk.deleteWebhook'));
    const confirmBox = el('div', { class: 'desk-confirm', role: 'group', 'aria-label': t('desk.deleteWebhookConfirm', { url: hook.url }), hidden: true });
    const reallyRemove = el('button', { type: 'button', class: 'button-danger' }, t('desk.deleteWebhook'));
    const keep = el('button', { type: 'button', class: 'button-secondary' }, t('desk.keepWebhook'));
    confirmBox.append(el('p', {}, t('desk.deleteWebhookConfirm', { url: hook.url })), el('div', { class: 'desk-actions' }, reallyRemove, keep));
    remove.addEventListener('click', () => {
      confirmBox.hidden = false;
      remove.hidden = true;
      keep.focus();
    });
    keep.addEventListener('click', () => {
      confirmBox.hidden = true;
      remove.hidden = false;
      remove.focus();
    });
    reallyRemove.addEventListener('click', async () => {
      notice.clear();
      try {
        await api.deleteWebhook(hook.id);
        openLogs.delete(hook.id);
        await loadWebhooks();
        hookUrl.focus();
      } catch (error) {
        fail(error);
      }
    });
    return el('article', { class: 'desk-webhook', 'aria-label': hook.url, 'data-webhook': hook.id },
      el('h3', {}, el('code', {}, hook.url)),
      el('p', { class: 'muted' }, hook.events.join(', '), ' · ', t('desk.webhookCreated'), ' ', i18n.formatDateTime(hook.created_at)),
      el('div', { class: 'desk-actions' }, toggle, refresh, remove),
      confirmBox,
      log);
  };
  /** @param {import('./desk-api.js').DeskDelivery[]} items */
  const deliveriesTable = (items) => el('table', { class: 'desk-table' },
    el('caption', { class: 'visually-hidden' }, t('desk.deliveries')),
    el('thead', {}, el('tr', {}, ...(/** @type {MessageKey[]} */ (['desk.deliveryEvent', 'desk.deliveryState', 'desk.deliveryAttempts',
      'desk.deliveryResult', 'desk.deliveryAt', 'desk.deliveryNext'])).map((k, i) => el('th', { scope: 'col', class: i === 2 ? 'num' : undefined }, t(k))))),
    el('tbody', {}, ...items.map((d) => {
      const state = d.state === 'pending' && d.attempts > 0 ? 'retrying' : d.state;
      const result = d.last_error ? `${d.last_status ? `${d.last_status} · ` : ''}${d.last_error}` : d.last_status ? String(d.last_status) : '—';
      return el('tr', { 'data-state': state },
        el('td', {}, el('code', {}, d.event)),
        el('td', {}, t(/** @type {MessageKey} */ (`desk.delivery.${state}`))),
        el('td', { class: 'num' }, d.attempts),
        el('td', { class: 'desk-delivery-result' }, result),
        el('td', {}, i18n.formatDateTime(d.created_at)),
        el('td', {}, d.next_attempt_at ? i18n.formatDateTime(d.next_attempt_at) : '—'));
    })));
  const loadWebhooks = async () => {
    try {
      const hooks = await api.webhooks();
      replaceChildren(hooksList, ...(hooks.items.length === 0 ? [el('p', { class: 'muted' }, t('desk.noWebhooks'))] : hooks.items.map(webhookCard)));
      for (const id of [...openLogs.keys()]) {
        const toggle = /** @type {HTMLButtonElement | null} */ (hooksList.querySelector(`[data-webhook="${CSS.escape(id)}"] [aria-controls]`));
        openLogs.delete(id);
        toggle?.click();
      }
    } catch (error) {
      fail(error);
    }
  };

  running = { stop: () => { stopped = true; window.clearTimeout(timer); window.clearTimeout(logTimer); } };

  void readBoard();
  void loadQueues().then(loadAgents);
  void loadWebhooks();

  const element = el('div', { class: 'desk-manage' },
    el('header', { class: 'desk-header' }, el('h1', { tabindex: -1 }, t('desk.manageTitle')), el('a', { href: '/desk' }, t('desk.backToConsole'))),
    notice,
    el('section', { 'aria-labelledby': 'wb-title' }, el('h2', { id: 'wb-title' }, t('desk.wallboard')), board),
    el('section', { class: 'card', 'aria-labelledby': 'rp-title' }, el('h2', { id: 'rp-title' }, t('desk.report')), reportForm, reportTable),
    el('section', { class: 'card', 'aria-labelledby': 'st-title' }, el('h2', { id: 'st-title' }, t('desk.staffing')), staffing, staffingOut),
    el('section', { class: 'card', 'aria-labelledby': 'qe-title' }, el('h2', { id: 'qe-title' }, t('desk.newQueue')), queueForm),
    el('section', { class: 'card', 'aria-labelledby': 'ag-title' }, el('h2', { id: 'ag-title' }, t('desk.agents')), agentForm, agentsTable),
    el('section', { class: 'card', 'aria-labelledby': 'wh-title' }, el('h2', { id: 'wh-title' }, t('desk.webhooks')), hookForm, secretBox, hooksList));
  return { element, title: t('desk.manageTitle') };
}

/**
 * @param {string} label
 * @param {string | number} value
 */
function figure(label, value) {
  return el('div', {}, el('dt', {}, label), el('dd', {}, value));
}

/**
 * @param {string} id
 * @param {string} label
 * @param {HTMLElement} control
 */
function field(id, label, control) {
  return el('div', { class: 'field' }, el('label', { for: id }, label), control);
}

/** @param {number | null | undefined} v */
function percent(v) {
  return v == null ? '—' : `${Math.round(v * 1000) / 10}%`;
}

/** @param {number | null | undefined} v */
function seconds(v) {
  return v == null ? '—' : `${Math.round(v)} s`;
}

/** @param {number} s */
function formatSeconds(s) {
  const n = Math.max(0, Math.round(s || 0));
  return `${Math.floor(n / 60)}:${String(n % 60).padStart(2, '0')}`;
}
