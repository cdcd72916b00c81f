// sidebar.js: the left column: who I am and the connection, the search
// box, and the tabs Chats / Friends / Requests.

import { useState } from 'preact/hooks';
import { totalUnread } from '../chats.js';
import { totalPendingJoins } from '../groups.js';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { logout } from '../session.js';
import { emit, state } from '../state.js';
import { ChatList } from './conversations.js';
import { Avatar, ConnState, LangSwitch } from './common.js';
import { FriendList } from './friends.js';
import { GroupsTab } from './groups.js';
import { IconClose, IconLogout, IconSearch, IconSettings } from './icons.js';
import { RequestList } from './requests.js';
import { SearchResults } from './search.js';
import { SettingsDialog } from './settings.js';

function Header() {
  const [settings, setSettings] = useState(false);
  return html`<header class="side-header">
    <${Avatar} user=${state.me} />
    <div class="side-me">
      <div class="me-name text-truncate" data-testid="me-name">${state.me?.display_name}</div>
      <${ConnState} conn=${state.conn} transport=${state.transport} />
    </div>
    <div class="side-actions">
      <${LangSwitch} className="compact" />
      <button type="button" class="btn btn-sm btn-icon" title=${t('settings.title')} aria-label=${t('settings.title')}
        data-testid="open-settings" onClick=${() => setSettings(true)}><${IconSettings} /></button>
      <button type="button" class="btn btn-sm btn-icon" title=${t('auth.logout')} aria-label=${t('auth.logout')}
        data-testid="logout" onClick=${logout}><${IconLogout} /></button>
    </div>
    ${settings && html`<${SettingsDialog} onClose=${() => setSettings(false)} />`}
  </header>`;
}

function Tab({ name, label, badge, badgeTestid }) {
  const active = state.tab === name;
  return html`<li class="nav-item" role="presentation">
    <button type="button" role="tab" class="nav-link ${active ? 'active' : ''}" aria-selected=${active}
      data-testid=${`tab-${name}`} onClick=${() => { state.tab = name; emit(); }}>
      <span class="tab-label">${label}${badge > 0 && html`<span class="badge rounded-pill text-bg-danger tab-badge"
        data-testid=${badgeTestid}>${badge > 99 ? '99+' : badge}</span>`}</span>
    </button>
  </li>`;
}

export function Sidebar() {
  const [query, setQuery] = useState('');
  const searching = query.trim() !== '';
  let body;
  if (searching) body = html`<${SearchResults} query=${query.trim()} />`;
  else if (state.tab === 'groups') body = html`<${GroupsTab} />`;
  else if (state.tab === 'friends') body = html`<${FriendList} />`;
  else if (state.tab === 'requests') body = html`<${RequestList} />`;
  else body = html`<${ChatList} />`;

  return html`<aside class="sidebar" aria-label=${t('side.label')}>
    <${Header} />
    <div class="side-search">
      <span class="side-search-icon"><${IconSearch} /></span>
      <input type="search" class="form-control" placeholder=${t('search.placeholder')} aria-label=${t('search.placeholder')}
        value=${query} data-testid="search-input" maxlength="64"
        onInput=${(e) => setQuery(e.currentTarget.value)}
        onKeyDown=${(e) => { if (e.key === 'Escape') setQuery(''); }} />
      ${searching && html`<button type="button" class="btn btn-sm btn-icon side-search-clear" aria-label=${t('search.clear')}
        onClick=${() => setQuery('')}><${IconClose} size=${16} /></button>`}
    </div>
    ${!searching && html`<ul class="nav nav-underline side-tabs" role="tablist">
      <${Tab} name="chats" label=${t('tab.chats')} badge=${totalUnread()} badgeTestid="chats-badge" />
      <${Tab} name="groups" label=${t('tab.groups')} badge=${totalPendingJoins()} badgeTestid="groups-badge" />
      <${Tab} name="friends" label=${t('tab.friends')} />
      <${Tab} name="requests" label=${t('tab.requests')} badge=${state.incoming.size} badgeTestid="requests-badge" />
    </ul>`}
    <div class="side-body">${body}</div>
  </aside>`;
}
