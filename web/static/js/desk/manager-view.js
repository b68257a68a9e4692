// The desk manager's screens (/desk/manage): the live wallboard (read
// again every few seconds), each queue's report for a range of days with
// a CSV download, the Erlang C staffing calculator, and a minimal editor
// to add a queue (open hours every day in a time zone, allowed origins)
// and to make someone an agent of queues.

import { el, replaceChildren } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { DeskApi } from './desk-api.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */

/** How often the wallboard is read again. */
const wallboardEveryMs = 5000;

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
  const queueForm = el('form', { class: 'desk-form-row' },
    field('q-key', t('desk.queueKey'), qKey), field('q-name', t('desk.queueName'), qName), field('q-zone', t('desk.timeZone'), qZone),
    field('q-open', t('desk.opens'), qOpen), field('q-close', t('desk.closes'), qClose), field('q-origins', t('desk.origins'), qOrigins),
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
        key: qKey.value.trim(), name: qName.value.trim(), channels: ['video', 'chat'],
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

  void readBoard();
  void loadQueues().then(loadAgents);

  const element = el('div', { class: 'desk-manage' },
    el('header', { class: 'desk-header' }, el('h1', { tabindex: -1 }, t('desk.manageTitle')), el('a', { href: '/desk' }, t('desk.backToConsole'))),
    notice,
    el('section', { 'aria-labelledby': 'wb-title' }, el('h2', { id: 'wb-title' }, t('desk.wallboard')), board),
    el('section', { class: 'card', 'aria-labelledby': 'rp-title' }, el('h2', { id: 'rp-title' }, t('desk.report')), reportForm, reportTable),
    el('section', { class: 'card', 'aria-labelledby': 'st-title' }, el('h2', { id: 'st-title' }, t('desk.staffing')), staffing, staffingOut),
    el('section', { class: 'card', 'aria-labelledby': 'qe-title' }, el('h2', { id: 'qe-title' }, t('desk.newQueue')), queueForm),
    el('section', { class: 'card', 'aria-labelledby': 'ag-title' }, el('h2', { id: 'ag-title' }, t('desk.agents')), agentForm, agentsTable));
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
