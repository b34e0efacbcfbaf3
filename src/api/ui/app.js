// The dashboard: renders what the agent's /ui/stream pushes (no polling) and sends operator
// actions to the same API as the CLI, with the token typed on the page (kept in memory only).
// Every value from the cluster goes in as text, never as markup: the store is not trusted.
'use strict';

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function fact(id, text) {
  $(id).hidden = !text;
  $(id).textContent = text || '';
}

function show(text, ok) {
  $('result').textContent = text;
  $('result').className = ok ? 'ok' : 'bad';
}

async function act(path, body, what) {
  const token = $('token').value.trim();
  const headers = { 'content-type': 'application/json' };
  // Sent without a token too: the agent's refusal is what the operator should see.
  if (token) headers.authorization = `Bearer ${token}`;
  show(`${what}: sent`, true);
  try {
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (res.ok) show(`${what}: accepted (${res.status})`, true);
    else show(`${what}: refused (${res.status}): ${answer.error || res.statusText}`, false);
  } catch (err) {
    show(`${what}: the agent did not answer: ${err.message}`, false);
  }
}

function actions(m, leader) {
  const td = el('td');
  if (m.role === 'standby' && m.name !== leader && leader !== null) {
    const b = el('button', 'switch over here', { 'data-action': 'switchover' });
    b.onclick = () => {
      if (window.confirm(`Switch over from ${leader} to ${m.name}?`)) act('/switchover', { to: m.name }, `switchover to ${m.name}`);
    };
    td.append(b);
  }
  const verb = m.detached ? 'attach' : 'detach';
  const d = el('button', verb, { 'data-action': verb });
  d.onclick = () => act(`/nodes/${encodeURIComponent(m.name)}/${verb}`, {}, `${verb} ${m.name}`);
  td.append(d);
  return td;
}

/** Each proxy's view (`proxy: up`), or the operator's choice when no proxy publishes one. */
function proxies(m) {
  const views = Object.entries(m.proxies || {});
  if (views.length === 0) return m.detached ? 'detached' : 'routed';
  return views.map(([p, status]) => `${p}: ${status}`).join(', ');
}

function row(m, leader) {
  const tr = el('tr', null, { 'data-node': m.name, class: m.name === leader ? 'primary' : '' });
  const cells = [
    ['name', m.name],
    ['role', m.role],
    ['status', m.status],
    ['timeline', m.timeline],
    ['lsn', m.lsn],
    ['lag', m.role === 'standby' ? bytes(m.lag_bytes) : ''],
    ['sync', m.sync || ''],
    ['proxies', proxies(m)],
  ];
  for (const [field, value] of cells) tr.append(el('td', value, { 'data-field': field }));
  tr.append(el('td', m.message, { 'data-field': 'message', class: 'msg' }));
  tr.append(actions(m, leader));
  return tr;
}

function render(state) {
  fact('error', state.error);
  const c = state.cluster;
  if (!c) return;
  $('leader').textContent = c.leader || 'none';
  fact('paused', c.paused_since ? `PAUSED since ${c.paused_since}${c.cluster_operation === 'stop' ? ': cluster stopped' : ''}` : '');
  fact('pending', c.pending ? `pending ${c.pending.kind}${c.pending.to ? ` to ${c.pending.to}` : ''}` : '');
  fact('vip', c.vip ? `floating IP ${c.vip.address} on ${c.vip.holders.join(', ') || 'nobody'}` : '');
  $('nodes').tBodies[0].replaceChildren(...c.members.map((m) => row(m, c.leader)));
  $('warnings').replaceChildren(...c.warnings.map((w) => el('li', w)));
  $('events').replaceChildren(
    ...state.events
      .slice()
      .reverse()
      .map((e) => {
        const li = el('li', null, { 'data-kind': e.kind });
        li.append(el('span', `${e.at.replace('T', ' ').slice(0, 19)} `), el('span', e.kind, { class: 'kind' }), el('span', ` ${e.node}: ${e.message}`));
        return li;
      }),
  );
}

const stream = new EventSource('/ui/stream');
stream.onopen = () => {
  $('live').textContent = 'live';
  $('live').className = 'badge on';
};
stream.onerror = () => {
  $('live').textContent = 'reconnecting';
  $('live').className = 'badge off';
};
stream.onmessage = (e) => render(JSON.parse(e.data));
