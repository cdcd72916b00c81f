// state.js: the one client-side state tree and its change notification.
//
// The state is plain mutable objects. Whoever changes it calls emit(); the
// root component re-renders on the next microtask, however many changes were
// made in between. Objects that components compare by identity (messages,
// pending sends, conversation summaries) are replaced, never mutated.

import { useLayoutEffect, useState } from 'preact/hooks';

export const state = {
  phase: 'boot', // boot | auth | app | failed
  authNotice: null, // why the user is at the login screen: 'session_ended'
  me: null, // User
  conn: 'offline', // connecting | online | reconnecting | offline
  transport: null, // ws | sse | poll: the live stream's transport, in use or being tried
  listsLoaded: false, // conversations, friends and requests fetched once
  conversations: new Map(), // conversation id -> Summary
  friends: new Map(), // user id -> Friend
  incoming: new Map(), // request id -> FR (pending, to me)
  outgoing: new Map(), // request id -> FR (pending, from me)
  chats: new Map(), // conversation id -> ChatState, see chats.js
  typing: new Map(), // conversation id -> {userId, until}: the other side is typing, see livestate.js
  activeId: null, // conversation shown in the chat pane
  tab: 'chats', // chats | groups | friends | requests
  // Groups, see groups.js and members.js.
  groups: new Map(), // group id -> Group, with `me` (my membership) once fetched
  goneGroups: new Map(), // conversation id -> {group_id, name, reason, by}: groups I am no longer in
  joinRequests: new Map(), // group id -> Map(request id -> JoinRequest): pending, for groups I moderate
  myJoinRequests: new Map(), // group id -> JoinRequest: my pending requests seen in this session
  members: new Map(), // group id -> {list: [GroupMember], loaded, loading, error}
  users: new Map(), // user id -> User: everyone whose name the client has seen
  blocks: new Map(), // user id -> User: people I blocked
  panel: null, // side panel of the open chat: {kind: members | requests | settings, groupId}
  toasts: [], // {id, text: () => string, kind}
  bootError: null, // why boot failed, when phase is 'failed'
};

const listeners = new Set();
let scheduled = false;
let version = 0;

export function emit() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    version++;
    for (const fn of listeners) fn(version);
  });
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// useStore re-renders the calling component after every emit. It
// subscribes in a layout effect (useEffect waits for an animation frame,
// which a background tab may not get for a long time) and catches up with
// any emit that happened between its render and the subscription.
export function useStore() {
  const [, setVersion] = useState(version);
  const renderedAt = version;
  useLayoutEffect(() => {
    const off = subscribe(setVersion);
    if (version !== renderedAt) setVersion(version);
    return off;
  }, []);
  return state;
}

let toastSeq = 0;

// toast shows a short notice for a few seconds. text is a function that
// returns the words, so that they follow a change of language.
// kind: info | success | danger.
export function toast(text, kind = 'info') {
  const id = ++toastSeq;
  state.toasts = [...state.toasts, { id, text, kind }];
  emit();
  setTimeout(() => dismissToast(id), kind === 'danger' ? 8000 : 5000);
}

export function dismissToast(id) {
  state.toasts = state.toasts.filter((x) => x.id !== id);
  emit();
}

// resetState forgets everything about the signed-in user.
export function resetState() {
  state.me = null;
  state.conn = 'offline';
  state.listsLoaded = false;
  state.conversations = new Map();
  state.friends = new Map();
  state.incoming = new Map();
  state.outgoing = new Map();
  state.chats = new Map();
  state.typing = new Map();
  state.activeId = null;
  state.tab = 'chats';
  state.groups = new Map();
  state.goneGroups = new Map();
  state.joinRequests = new Map();
  state.myJoinRequests = new Map();
  state.members = new Map();
  state.users = new Map();
  state.blocks = new Map();
  state.panel = null;
  state.toasts = [];
}
