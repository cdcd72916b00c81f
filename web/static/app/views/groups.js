// groups.js: the Groups tab: the user's groups (unread counts, last message,
// join requests waiting), creating a group, and finding groups by name or
// number to join, with a note when the group wants approval.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { chatOf } from '../chats.js';
import { isAdminOf, joinGroup, pendingCount, sortedGroups } from '../groups.js';
import { html } from '../html.js';
import { errorText, formatListTime, t } from '../i18n.js';
import { groupFace } from '../people.js';
import { openConversation } from '../router.js';
import { state, toast } from '../state.js';
import { EmptyState, Spinner, Avatar } from './common.js';
import { preview } from './conversations.js';
import { CreateGroupDialog, policyShort } from './groupform.js';
import { IconClose, IconPlus, IconSearch } from './icons.js';

const DEBOUNCE_MS = 300;
const NOTE_MAX = 200;

function openGroup(g) {
  chatOf(g.conversation_id);
  openConversation(g.conversation_id);
}

function GroupRow({ g }) {
  const s = state.conversations.get(g.conversation_id);
  const active = state.activeId === g.conversation_id;
  const when = s?.last_message?.created_at;
  const pending = isAdminOf(g) ? pendingCount(g.id) : 0;
  return html`<li>
    <button type="button" class="list-row ${active ? 'active' : ''}" data-testid="group-item" data-group-id=${g.id}
      data-name=${g.name} aria-current=${active ? 'true' : undefined} onClick=${() => openGroup(g)}>
      <${Avatar} user=${groupFace(g)} />
      <span class="row-main">
        <span class="row-top">
          <span class="row-title text-truncate">${g.name}</span>
          ${when && html`<time class="row-time" datetime=${when}>${formatListTime(when)}</time>`}
        </span>
        <span class="row-bottom">
          <span class="row-sub text-truncate">${s ? preview(s) : t('groups.memberCount', { count: g.member_count })}</span>
          ${pending > 0 && html`<span class="badge rounded-pill text-bg-warning" data-testid="group-join-badge"
            title=${t('joinreq.pendingCount', { count: pending })}>${t('joinreq.badge', { count: pending })}</span>`}
          ${s?.unread > 0 && html`<span class="badge rounded-pill text-bg-danger" data-testid="unread-badge"
            aria-label=${t('chat.unreadCount', { count: s.unread })}>${s.unread > 99 ? '99+' : s.unread}</span>`}
        </span>
      </span>
    </button>
  </li>`;
}

function MyGroups() {
  if (!state.listsLoaded) return html`<div class="p-4 text-center"><${Spinner} /></div>`;
  const groups = sortedGroups();
  if (groups.length === 0) return html`<${EmptyState} title=${t('groups.emptyTitle')} text=${t('groups.emptyText')} />`;
  return html`<ul class="list-rows" role="list">${groups.map((g) => html`<${GroupRow} key=${g.id} g=${g} />`)}</ul>`;
}

// joinErrorText words the refusals a join can meet.
function joinErrorText(err) {
  switch (err.code) {
    case 'invite_only': return t('groups.inviteOnly');
    case 'group_full': return t('groups.full');
    case 'already_member': return t('groups.alreadyMember');
    default: return errorText(err);
  }
}

function JoinForm({ card, onDone, onError }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const tooLong = [...note].length > NOTE_MAX;
  const send = async (e) => {
    e.preventDefault();
    if (tooLong) return;
    setBusy(true);
    try {
      await joinGroup(card, note.trim());
      toast(() => t('groups.requestSent', { name: card.name }), 'success');
      onDone();
    } catch (err) {
      setBusy(false);
      onError(err);
    }
  };
  return html`<form class="request-form" onSubmit=${send}>
    <label class="form-label small" for=${`join-note-${card.id}`}>${t('groups.noteLabel')}</label>
    <textarea id=${`join-note-${card.id}`} class="form-control form-control-sm ${tooLong ? 'is-invalid' : ''}" rows="2"
      placeholder=${t('groups.notePlaceholder')} value=${note} data-testid="join-note"
      onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
    <div class="d-flex align-items-center gap-2 mt-2">
      <span class="small ${tooLong ? 'text-danger' : 'text-body-secondary'} me-auto">${[...note].length}/${NOTE_MAX}</span>
      <button type="button" class="btn btn-sm btn-light" onClick=${onDone}>${t('common.cancel')}</button>
      <button type="submit" class="btn btn-sm btn-primary" disabled=${busy || tooLong} data-testid="join-send">
        ${t('groups.sendRequest')}</button>
    </div>
  </form>`;
}

function GroupResult({ card }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const mine = state.groups.get(card.id);
  const requested = state.myJoinRequests.has(card.id);

  const onError = (err) => {
    if (err.code === 'join_pending') setError(null); // shown as "request sent"
    else setError(joinErrorText(err));
  };
  const join = async () => {
    setError(null);
    if (card.join_policy === 'approval') {
      setAsking(true);
      return;
    }
    setBusy(true);
    try {
      const r = await joinGroup(card, '');
      if (r.joined) {
        toast(() => t('groups.joined', { name: card.name }), 'success');
        openGroup(r.group);
      }
    } catch (err) {
      onError(err);
    }
    setBusy(false);
  };

  let action;
  if (mine) {
    action = html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid="group-open"
      onClick=${() => openGroup(mine)}>${t('groups.open')}</button>`;
  } else if (requested) {
    action = html`<span class="badge text-bg-light" data-testid="join-requested">${t('groups.requested')}</span>`;
  } else if (!asking) {
    action = html`<button type="button" class="btn btn-sm btn-primary" data-testid="group-join" disabled=${busy}
      onClick=${join}>${t('groups.join')}</button>`;
  }
  return html`<li class="search-result group-result" data-testid="group-result" data-number=${card.number}
      data-group-id=${card.id} data-policy=${card.join_policy}>
    <div class="d-flex align-items-center gap-2">
      <${Avatar} user=${groupFace(card)} />
      <div class="row-main">
        <div class="row-title text-truncate">${card.name}</div>
        <div class="row-sub text-truncate">${t('group.numberLabel', { number: card.number })} ·
          ${t('group.memberCount', { count: card.member_count, limit: card.member_limit })}</div>
      </div>
      ${action}
    </div>
    ${card.description && html`<div class="group-card-description">${card.description}</div>`}
    <div class="mt-1"><span class="badge policy-badge" data-testid="group-policy">${policyShort(card.join_policy)}</span></div>
    ${requested && !mine && html`<div class="small text-body-secondary mt-1" data-testid="join-waiting">${t('groups.waiting')}</div>`}
    ${asking && !mine && !requested && html`<${JoinForm} card=${card} onDone=${() => setAsking(false)}
      onError=${(err) => { setAsking(false); onError(err); }} />`}
    ${error && html`<div class="alert alert-warning py-1 px-2 small mt-2 mb-0" role="alert" data-testid="join-error">${error}</div>`}
  </li>`;
}

function GroupSearchResults({ query }) {
  const [cards, setCards] = useState([]);
  const [next, setNext] = useState(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const generation = useRef(0);

  const fetchPage = async (after, gen) => {
    setLoading(true);
    try {
      const r = await api.searchGroups(query, after);
      if (gen !== generation.current) return;
      setCards((prev) => {
        const have = new Set(after ? prev.map((c) => c.id) : []);
        return (after ? prev : []).concat(r.groups.filter((c) => !have.has(c.id)));
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
    <h2 class="list-heading">${t('groups.found')}</h2>
    ${error && html`<div class="alert alert-danger m-3 py-2" role="alert">${error}</div>`}
    ${!loading && !error && cards.length === 0 && html`<${EmptyState} text=${t('groups.none', { query })} />`}
    <ul class="list-rows" role="list">${cards.map((c) => html`<${GroupResult} key=${c.id} card=${c} />`)}</ul>
    ${loading && html`<div class="p-3 text-center"><${Spinner} small /></div>`}
    ${!loading && next !== null && html`<div class="p-2 text-center">
      <button type="button" class="btn btn-sm btn-link" data-testid="group-search-more"
        onClick=${() => fetchPage(next, generation.current)}>${t('search.more')}</button></div>`}
  </div>`;
}

export function GroupsTab() {
  const [query, setQuery] = useState('');
  const [creating, setCreating] = useState(false);
  const q = query.trim();
  return html`<div>
    <div class="groups-bar">
      <div class="groups-search">
        <span class="side-search-icon"><${IconSearch} /></span>
        <input type="search" class="form-control" placeholder=${t('groups.searchPlaceholder')}
          aria-label=${t('groups.searchPlaceholder')} value=${query} data-testid="group-search-input" maxlength="64"
          onInput=${(e) => setQuery(e.currentTarget.value)} onKeyDown=${(e) => { if (e.key === 'Escape') setQuery(''); }} />
        ${q && html`<button type="button" class="btn btn-sm btn-icon side-search-clear" aria-label=${t('search.clear')}
          onClick=${() => setQuery('')}><${IconClose} size=${16} /></button>`}
      </div>
      <button type="button" class="btn btn-primary text-nowrap group-create" data-testid="group-create"
        onClick=${() => setCreating(true)}><${IconPlus} /><span class="ms-1">${t('groups.create')}</span></button>
    </div>
    ${q ? html`<${GroupSearchResults} query=${q} />` : html`<${MyGroups} />`}
    ${creating && html`<${CreateGroupDialog} onClose=${() => setCreating(false)} />`}
  </div>`;
}
