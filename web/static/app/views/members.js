// members.js: a group's member list in a side panel: the owner, admins and
// members with their role badges and mutes; a click on someone opens what
// can be done about them (membercard.js) in place. Admins add friends from
// here too (addmembers.js).

import { useEffect, useState } from 'preact/hooks';
import { isAdminOf } from '../groups.js';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { isMutedNow, loadMembers, membersOf } from '../members.js';
import { emit, state } from '../state.js';
import { AddMembers } from './addmembers.js';
import { Avatar, SidePanel, Spinner } from './common.js';
import { IconPlus } from './icons.js';
import { MemberActions, MutedNote, RoleBadge } from './membercard.js';

const FILTER_FROM = 10; // members before the list gets a filter box

function MemberRow({ g, m, open, onToggle }) {
  const me = m.user.id === state.me?.id;
  return html`<li class="member-row ${open ? 'open' : ''}" data-testid="member-item" data-username=${m.user.username}
      data-user-id=${m.user.id} data-role=${m.role} data-muted=${isMutedNow(m) ? 'true' : 'false'}>
    <button type="button" class="list-row" aria-expanded=${open} data-testid="member-toggle" onClick=${onToggle}>
      <${Avatar} user=${m.user} size="sm" />
      <span class="row-main">
        <span class="row-top">
          <span class="row-title text-truncate">${m.user.display_name}${me && html` <span class="text-body-secondary fw-normal">${t('members.you')}</span>`}</span>
          <${RoleBadge} role=${m.role} />
        </span>
        <span class="row-sub text-truncate">@${m.user.username}</span>
        <${MutedNote} member=${m} />
      </span>
    </button>
    ${open && !me && html`<div class="member-row-actions"><${MemberActions} g=${g} member=${m} user=${m.user} /></div>`}
  </li>`;
}

export function MembersPanel({ g }) {
  const [openId, setOpenId] = useState(null);
  const [filter, setFilter] = useState('');
  const [adding, setAdding] = useState(false);
  useEffect(() => { loadMembers(g.id); }, [g.id]);
  const entry = membersOf(g.id);
  const list = entry?.list ?? [];
  const q = filter.trim().toLowerCase();
  const shown = q ? list.filter((m) => m.user.display_name.toLowerCase().includes(q) || m.user.username.includes(q)) : list;
  const close = () => { state.panel = null; emit(); };
  return html`<${SidePanel} title=${t('members.titleCount', { count: g.member_count })} onClose=${close} testid="members-panel">
    ${isAdminOf(g) && (adding
      ? html`<${AddMembers} g=${g} onClose=${() => setAdding(false)} />`
      : html`<button type="button" class="btn btn-sm btn-outline-primary mb-2" data-testid="member-add-open"
          onClick=${() => setAdding(true)}><${IconPlus} /><span class="ms-1">${t('members.addTitle')}</span></button>`)}
    ${list.length >= FILTER_FROM && html`<input type="search" class="form-control form-control-sm mb-2" value=${filter}
      placeholder=${t('members.filter')} aria-label=${t('members.filter')} data-testid="member-filter"
      onInput=${(e) => setFilter(e.currentTarget.value)} />`}
    ${entry?.error && !entry.loaded && html`<div class="alert alert-danger py-2" role="alert">${errorText(entry.error)}</div>`}
    ${!entry?.loaded && !entry?.error && html`<div class="p-3 text-center"><${Spinner} small /></div>`}
    <ul class="list-rows member-list p-0" role="list">
      ${shown.map((m) => html`<${MemberRow} key=${m.user.id} g=${g} m=${m} open=${openId === m.user.id}
        onToggle=${() => setOpenId(openId === m.user.id ? null : m.user.id)} />`)}
    </ul>
  <//>`;
}
