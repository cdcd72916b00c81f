// router.js: the URL says which conversation is open (/c/12) so that the
// browser's back button (and a phone's back gesture) closes it, and a reload
// reopens it. The server answers every such path with index.html.

import { ensureLoaded, markReadIfVisible } from './chats.js';
import { emit, state } from './state.js';

// routeConversation is the conversation id in the URL, or null.
export function routeConversation() {
  const m = /^\/c\/(\d+)\/?$/.exec(location.pathname);
  return m ? Number(m[1]) : null;
}

function show(id) {
  if (state.activeId !== id) state.panel = null; // a side panel belongs to its chat
  state.activeId = id;
  if (id !== null) {
    ensureLoaded(id);
    markReadIfVisible(id);
  }
  emit();
}

// setActiveFromRoute opens what the URL names; with drop, it also removes a
// conversation id that turned out not to exist.
export function setActiveFromRoute(drop = false) {
  if (drop) {
    history.replaceState(null, '', '/');
    show(null);
    return;
  }
  show(routeConversation());
}

export function openConversation(id) {
  if (state.activeId === id) return;
  const path = `/c/${id}`;
  if (routeConversation() === null) history.pushState({ fromList: true }, '', path);
  else history.replaceState(history.state, '', path); // switching chats is not a step back
  show(id);
}

// closeConversation goes back to the list (narrow screens).
export function closeConversation() {
  if (routeConversation() !== null && history.state?.fromList) {
    history.back();
    return;
  }
  history.pushState(null, '', '/');
  show(null);
}

window.addEventListener('popstate', () => {
  if (state.phase === 'app') show(routeConversation());
});
