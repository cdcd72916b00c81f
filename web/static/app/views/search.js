// search.js: finding people by username or display name (debounced, paged
// with "more") and sending them a friend request with an optional note.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { conversationWith, decide, relationTo, sendFriendRequest } from '../people.js';
import { openConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { Avatar, EmptyState, Spinner } from './common.js';

const DEBOUNCE_MS = 300;
const NOTE_MAX = 200;

export function RequestForm({ user, onDone }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const tooLong = [...note].length > NOTE_MAX;

  const send = async (e) => {
    e.preventDefault();
    if (tooLong) return;
    setBusy(true);
    setError(null);
    try {
      const r = await sendFriendRequest(user.id, note.trim());
      if (r.friend) toast(() => t('toast.nowFriends', { name: user.display_name }), 'success');
      else toast(() => t('search.requestSent', { name: user.display_name }), 'success');
      onDone();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return html`<form class="request-form" onSubmit=${send}>
    <label class="form-label small" for=${`note-${user.id}`}>${t('search.noteLabel')}</label>
    <textarea id=${`note-${user.id}`} class="form-control form-control-sm ${tooLong ? 'is-invalid' : ''}" rows="2"
      placeholder=${t('search.notePlaceholder', { name: state.me?.display_name ?? '' })} value=${note}
      data-testid="request-note" onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
    <div class="d-flex align-items-center gap-2 mt-2">
      <span class="small ${tooLong ? 'text-danger' : 'text-body-secondary'} me-auto">${[...note].length}/${NOTE_MAX}</span>
      <button type="button" class="btn btn-sm btn-light" onClick=${onDone}>${t('common.cancel')}</button>
      <button type="submit" class="btn btn-sm btn-primary" disabled=${busy || tooLong} data-testid="request-send">
        ${t('search.sendRequest')}</button>
    </div>
    ${error && html`<div class="alert alert-warning py-1 px-2 small mt-2 mb-0" role="alert" data-testid="request-error">${error}</div>`}
  </form>`;
}

function ResultRow({ user, open, onOpen }) {
  const rel = relationTo(user);
  let action;
  switch (rel.kind) {
    case 'self':
      action = html`<span class="badge text-bg-light">${t('search.you')}</span>`;
      break;
    case 'friend':
      action = html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid="open-chat"
        onClick=${() => { state.tab = 'chats'; emit(); openConversation(conversationWith(user.id)); }}>${t('search.message')}</button>`;
      break;
    case 'requested':
      action = html`<span class="badge text-bg-light" data-testid="request-pending">${t('search.requested')}</span>`;
      break;
    case 'asked':
      action = html`<button type="button" class="btn btn-sm btn-primary" data-testid="search-accept"
        onClick=${() => decide(rel.request, 'accept').catch((err) => toast(() => errorText(err), 'danger'))}>${t('requests.accept')}</button>`;
      break;
    default:
      action = !open && html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid="add-friend"
        onClick=${onOpen}>${t('search.add')}</button>`;
  }
  return html`<li class="search-result" data-testid="search-result" data-username=${user.username}>
    <div class="d-flex align-items-center gap-2">
      <${Avatar} user=${user} />
      <div class="row-main">
        <div class="row-title text-truncate">${user.display_name}</div>
        <div class="row-sub text-truncate">@${user.username}</div>
      </div>
      ${action}
    </div>
    ${open && rel.kind === 'none' && html`<${RequestForm} user=${user} onDone=${() => onOpen(null)} />`}
  </li>`;
}

export function SearchResults({ query }) {
  const [users, setUsers] = useState([]);
  const [next, setNext] = useState(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const [openId, setOpenId] = useState(null);
  const generation = useRef(0);

  const fetchPage = async (after, gen) => {
    setLoading(true);
    try {
      const r = await api.searchUsers(query, after);
      if (gen !== generation.current) return;
      setUsers((prev) => {
        const have = new Set(after ? prev.map((u) => u.id) : []);
        return (after ? prev : []).concat(r.users.filter((u) => !have.has(u.id)));
      });
      setNext(r.next_after ?? null);
      setError(null);
    } catch (err) {
      if (gen === generation.current) setError(errorText(err));
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  };

  useLayoutEffect(() => {
    const gen = ++generation.current;
    setLoading(true);
    const timer = setTimeout(() => fetchPage(null, gen), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query]);

  return html`<div class="search-results">
    <h2 class="list-heading">${t('search.people')}</h2>
    ${error && html`<div class="alert alert-danger m-3 py-2" role="alert">${error}</div>`}
    ${!loading && !error && users.length === 0 && html`<${EmptyState} text=${t('search.none', { query })} />`}
    <ul class="list-rows" role="list">
      ${users.map((u) => html`<${ResultRow} key=${u.id} user=${u} open=${openId === u.id}
        onOpen=${(v) => setOpenId(v === null ? null : u.id)} />`)}
    </ul>
    ${loading && html`<div class="p-3 text-center"><${Spinner} small /></div>`}
    ${!loading && next !== null && html`<div class="p-2 text-center">
      <button type="button" class="btn btn-sm btn-link" data-testid="search-more"
        onClick=${() => fetchPage(next, generation.current)}>${t('search.more')}</button></div>`}
  </div>`;
}
