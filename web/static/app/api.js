// api.js: the REST API of docs/API.md. Every call resolves with the decoded
// JSON (null for 204) or rejects with an ApiError carrying the server's code.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter, until) {
    super(message || code);
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.retryAfter = retryAfter;
    this.until = until; // when the condition ends (a mute), if the server says
  }
}

let unauthorizedHandler = null;

// onUnauthorized sets what happens when a call finds the session gone.
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

async function request(method, path, body, { quiet401 = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', String(err?.message || err));
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch { /* a proxy's HTML error page, say */ }
  if (!res.ok) {
    const e = data?.error || {};
    const code = e.code || (res.status >= 500 ? 'unavailable' : 'invalid');
    const err = new ApiError(res.status, code, e.message || res.statusText, res.headers.get('Retry-After'), e.until);
    if (res.status === 401 && code === 'unauthorized' && !quiet401 && unauthorizedHandler) unauthorizedHandler();
    throw err;
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  register: (username, displayName, password) =>
    request('POST', '/api/register', { username, display_name: displayName, password }),
  login: (username, password) => request('POST', '/api/login', { username, password }),
  logout: () => request('POST', '/api/logout', undefined, { quiet401: true }),
  me: () => request('GET', '/api/me', undefined, { quiet401: true }),
  updateMe: (displayName) => request('PATCH', '/api/me', { display_name: displayName }),
  changePassword: (oldPassword, newPassword) =>
    request('POST', '/api/me/password', { old_password: oldPassword, new_password: newPassword }),

  searchUsers: (q, after, limit = 20) => request('GET', `/api/users${query({ q, after, limit })}`),

  friends: () => request('GET', '/api/friends'),
  removeFriend: (userId) => request('DELETE', `/api/friends/${userId}`),
  friendRequests: () => request('GET', '/api/friend-requests'),
  sendFriendRequest: (toId, note) => request('POST', '/api/friend-requests', { to_id: toId, note }),
  decideFriendRequest: (id, action) => request('POST', `/api/friend-requests/${id}/${action}`, {}),

  conversations: () => request('GET', '/api/conversations'),
  conversation: (id) => request('GET', `/api/conversations/${id}`),
  messagesBefore: (id, before, limit = 50) =>
    request('GET', `/api/conversations/${id}/messages${query({ before, limit })}`),
  messagesAfter: (id, after, limit = 200) =>
    request('GET', `/api/conversations/${id}/messages${query({ after: after ?? 0, limit })}`),
  sendMessage: (id, clientId, body) =>
    request('POST', `/api/conversations/${id}/messages`, { client_id: clientId, body }),
  markRead: (id, seq) => request('POST', `/api/conversations/${id}/read`, { seq }),
  markDelivered: (id, seq) => request('POST', `/api/conversations/${id}/delivered`, { seq }),
  typing: (id) => request('POST', `/api/conversations/${id}/typing`, {}),
  recall: (id, seq) => request('POST', `/api/conversations/${id}/messages/${seq}/recall`, {}),

  user: (id) => request('GET', `/api/users/${id}`),

  createGroup: (settings) => request('POST', '/api/groups', settings),
  searchGroups: (q, after, limit = 20) => request('GET', `/api/groups${query({ q, after, limit })}`),
  myGroups: () => request('GET', '/api/groups/mine'),
  group: (id) => request('GET', `/api/groups/${id}`),
  updateGroup: (id, settings) => request('PATCH', `/api/groups/${id}`, settings),
  dissolveGroup: (id) => request('DELETE', `/api/groups/${id}`),
  members: (id) => request('GET', `/api/groups/${id}/members`),
  addMember: (id, uid) => request('POST', `/api/groups/${id}/members`, { user_id: uid }),
  removeMember: (id, uid) => request('DELETE', `/api/groups/${id}/members/${uid}`),
  leaveGroup: (id) => request('POST', `/api/groups/${id}/leave`, {}),
  setRole: (id, uid, role) => request('PUT', `/api/groups/${id}/members/${uid}/role`, { role }),
  transferGroup: (id, uid) => request('POST', `/api/groups/${id}/transfer`, { user_id: uid }),
  // minutes: a number, or null for "until unmuted".
  mute: (id, uid, minutes) => request('POST', `/api/groups/${id}/members/${uid}/mute`, { minutes }),
  unmute: (id, uid) => request('DELETE', `/api/groups/${id}/members/${uid}/mute`),
  muteAll: (id, on) => request('POST', `/api/groups/${id}/mute-all`, { on }),
  joinGroup: (id, note) => request('POST', `/api/groups/${id}/join`, { note }),
  joinRequests: (id) => request('GET', `/api/groups/${id}/join-requests`),
  decideJoinRequest: (id, action) => request('POST', `/api/join-requests/${id}/${action}`, {}),
  openTemp: (id, uid) => request('POST', `/api/groups/${id}/temp/${uid}`, {}),

  blocks: () => request('GET', '/api/blocks'),
  block: (uid) => request('PUT', `/api/blocks/${uid}`),
  unblock: (uid) => request('DELETE', `/api/blocks/${uid}`),
};
