// The realtime modules' rules, in Node without a browser or server: the
// backoff, the cursors (in order, once, gaps filled, catching up after a
// reconnection) and the outbox (kept in storage, same client id on every
// attempt, failures sorted into "try again" and "give up").

import { test } from 'node:test';
import assert from 'node:assert/strict';

// The modules use window's timers, as browsers have them.
Object.assign(globalThis, { window: globalThis });

const { backoffDelay } = await import('../static/js/realtime/socket.js');
const { EventSync } = await import('../static/js/realtime/sync.js');
const { Outbox, newClientId } = await import('../static/js/realtime/outbox.js');
const { ApiError } = await import('../static/js/api.js');

test('backoff doubles up to its ceiling and spreads clients over the upper half', () => {
  const lowest = (attempt) => backoffDelay(attempt, 500, 15_000, () => 0);
  const highest = (attempt) => backoffDelay(attempt, 500, 15_000, () => 1);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 30].map(highest), [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  assert.deepEqual([0, 1, 5].map(lowest), [250, 500, 7500]);
});

test('client ids are new every time and fit the server\'s pattern', () => {
  const ids = new Set(Array.from({ length: 100 }, () => newClientId()));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9._:-]{1,64}$/);
});

/**
 * A server's change log for the sync to read, and what the sync applied.
 * @param {Record<string, number>} lastSeqs
 */
function fakeServer(lastSeqs) {
  /** @type {Map<string, object[]>} */
  const logs = new Map();
  for (const [id, last] of Object.entries(lastSeqs)) {
    logs.set(id, Array.from({ length: last }, (_, index) => event(id, index + 1)));
  }
  const calls = [];
  const api = {
    async allConversations() {
      calls.push('list');
      return [...logs].map(([id, events]) => ({ id, last_seq: events.length }));
    },
    async events(id, after, limit) {
      calls.push(`events ${id} after ${after}`);
      const events = logs.get(id);
      if (!events) throw new ApiError(404, { title: 'Not found' }, null);
      const page = events.slice(after, after + Math.min(limit, 2));
      return { items: page, more: after + page.length < events.length };
    },
  };
  /** @type {object[]} */
  const applied = [];
  const live = [];
  const handler = {
    conversations: () => {},
    wantsHistory: () => true,
    event: (e) => applied.push(`${e.conversation_id}:${e.seq}`),
    discover: async (id) => ({ id, last_seq: logs.get(id)?.length ?? 0 }),
    removed: (id) => applied.push(`removed ${id}`),
    live: (on) => live.push(on),
  };
  const add = (id) => {
    const events = logs.get(id) ?? [];
    logs.set(id, events);
    const next = event(id, events.length + 1);
    events.push(next);
    return next;
  };
  return { api, handler, applied, live, calls, add, logs };
}

/**
 * @param {string} id
 * @param {number} seq
 */
function event(id, seq) {
  return { conversation_id: id, seq, type: 'message.created', actor_id: 'u', at: new Date(0).toISOString() };
}

/** Lets queued promise work finish. */
async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('live events apply in order and once; a gap is filled before the event that shows it', async () => {
  const server = fakeServer({ a: 3 });
  const sync = new EventSync({ api: server.api, handler: server.handler });
  sync.seed([{ id: 'a', last_seq: 3 }]);
  await sync.connected();
  assert.deepEqual(server.live, [true]);

  const fourth = server.add('a');
  sync.receive(fourth);
  sync.receive(fourth); // the same event again: dropped
  server.add('a');
  server.add('a');
  const seventh = server.add('a'); // 5 and 6 were never announced
  sync.receive(seventh);
  await settle();
  assert.deepEqual(server.applied, ['a:4', 'a:5', 'a:6', 'a:7']);
  assert.equal(sync.cursor('a'), 7);
});

test('after a reconnection, open threads fetch what they missed; others take the list', async () => {
  const server = fakeServer({ open: 2, closed: 2 });
  server.handler.wantsHistory = (id) => id === 'open';
  const sync = new EventSync({ api: server.api, handler: server.handler });
  sync.seed([{ id: 'open', last_seq: 2 }, { id: 'closed', last_seq: 2 }]);
  await sync.connected();
  sync.disconnected();
  for (let i = 0; i < 5; i++) {
    server.add('open');
    server.add('closed');
  }
  server.calls.length = 0;
  await sync.connected();
  assert.deepEqual(server.applied, ['open:3', 'open:4', 'open:5', 'open:6', 'open:7']);
  assert.equal(sync.cursor('closed'), 7);
  assert.ok(!server.calls.some((call) => call.startsWith('events closed')), 'no history fetched for a closed thread');
  assert.deepEqual(server.live, [true, false, true]);
});

test('a conversation gone from the list, or answering 404, is forgotten', async () => {
  const server = fakeServer({ a: 1, b: 1 });
  const sync = new EventSync({ api: server.api, handler: server.handler });
  sync.seed([{ id: 'a', last_seq: 1 }, { id: 'b', last_seq: 1 }]);
  server.logs.delete('b');
  await sync.connected();
  assert.deepEqual(server.applied, ['removed b']);
  assert.equal(sync.cursor('b'), undefined);

  // Removed from "a" while connected: filling a gap is answered 404.
  server.logs.delete('a');
  sync.receive(event('a', 5));
  await settle();
  assert.deepEqual(server.applied, ['removed b', 'removed a']);
  assert.equal(sync.cursor('a'), undefined);
});

/** A Storage kept in memory. */
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
    items,
  };
}

test('the outbox keeps messages across pages and sends each with one client id until stored', async () => {
  const storage = memoryStorage();
  const first = new Outbox({ storage, key: 'outbox', onChange: () => {} });
  const entry = first.add({ conversation_id: 'c', body: 'hello' });
  first.add({ conversation_id: 'c', body: 'second' });

  // A new page (a reload) finds both, in order.
  const outbox = new Outbox({ storage, key: 'outbox', onChange: () => {} });
  assert.deepEqual(outbox.entries().map((e) => e.body), ['hello', 'second']);

  /** @type {string[]} */
  const attempts = [];
  let connected = false;
  const send = async (e) => {
    attempts.push(`${e.body} ${e.client_id}`);
    if (!connected) throw new Error('not connected');
    return { id: `m-${e.client_id}`, client_id: e.client_id };
  };
  const sent = [];
  await outbox.flush(send, () => null, (message) => sent.push(message.client_id));
  assert.equal(outbox.entries().length, 2, 'nothing left the outbox while offline');
  connected = true;
  await outbox.flush(send, () => null, (message) => sent.push(message.client_id));
  assert.deepEqual(attempts.map((line) => line.split(' ')[0]), ['hello', 'hello', 'second']);
  assert.equal(attempts[0], attempts[1], 'the retry carried the same client id');
  assert.equal(attempts[0].split(' ')[1], entry.client_id);
  assert.equal(sent.length, 2);
  assert.equal(storage.items.has('outbox'), false);
});

test('a message the server refuses is kept as failed, and the rest still go', async () => {
  const outbox = new Outbox({ storage: memoryStorage(), key: 'outbox', onChange: () => {} });
  outbox.add({ conversation_id: 'c', body: 'refused' });
  outbox.add({ conversation_id: 'c', body: 'fine' });
  const refusal = new Error('write something');
  await outbox.flush(
    async (e) => {
      if (e.body === 'refused') throw refusal;
      return { id: 'm', client_id: e.client_id };
    },
    (error) => (error === refusal ? 'write something' : null),
    () => {},
  );
  const [left] = outbox.entries();
  assert.equal(outbox.entries().length, 1);
  assert.equal(left.state, 'failed');
  assert.equal(left.error, 'write something');
  outbox.retry(left.client_id);
  assert.equal(outbox.entries()[0].state, 'waiting');
});
