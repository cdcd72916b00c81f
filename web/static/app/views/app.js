// app.js: the root component: the login screen or the messenger, and the
// toasts over both.

import { useEffect } from 'preact/hooks';
import { totalUnread } from '../chats.js';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { boot } from '../session.js';
import { state, useStore } from '../state.js';
import { AuthScreen } from './auth.js';
import { ChatPane, Welcome } from './chat.js';
import { Spinner, Toasts } from './common.js';
import { Sidebar } from './sidebar.js';

function Shell() {
  const open = state.activeId !== null;
  return html`<div class="shell ${open ? 'show-chat' : 'show-list'}">
    <${Sidebar} />
    <main class="chat-pane">
      ${open ? html`<${ChatPane} key=${state.activeId} id=${state.activeId} />` : html`<${Welcome} />`}
    </main>
  </div>`;
}

function Failed() {
  return html`<div class="boot-screen">
    <div class="alert alert-danger" role="alert">${errorText(state.bootError)}</div>
    <button type="button" class="btn btn-primary" onClick=${() => { state.phase = 'boot'; boot(); }}>${t('common.retry')}</button>
  </div>`;
}

// useTitle puts the unread count in the tab's title, as QQ and Telegram do.
function useTitle() {
  const unread = state.phase === 'app' ? totalUnread() : 0;
  const title = unread ? t('app.titleUnread', { count: unread, name: t('app.name') }) : t('app.name');
  useEffect(() => { document.title = title; }, [title]);
}

export function App() {
  useStore();
  useTitle();
  let screen;
  switch (state.phase) {
    case 'auth': screen = html`<${AuthScreen} />`; break;
    case 'app': screen = html`<${Shell} />`; break;
    case 'failed': screen = html`<${Failed} />`; break;
    default: screen = html`<div class="boot-screen"><${Spinner} /></div>`;
  }
  return html`${screen}<${Toasts} />`;
}
