// requests.js: the friend requests inbox: received ones to accept or
// decline, sent ones to cancel. Both update live from the event stream.

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, formatListTime, t } from '../i18n.js';
import { decide, incomingRequests, outgoingRequests } from '../people.js';
import { openConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { Avatar, EmptyState, Spinner } from './common.js';

function RequestRow({ request, incoming }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const other = incoming ? request.from : request.to;

  const act = async (action) => {
    setBusy(action);
    setError(null);
    try {
      const r = await decide(request, action);
      if (action === 'accept') {
        toast(() => t('toast.nowFriends', { name: other.display_name }), 'success');
        if (r.friend) {
          state.tab = 'chats';
          emit();
          openConversation(r.friend.conversation_id);
        }
      }
    } catch (err) {
      setError(errorText(err));
      setBusy(null);
    }
  };

  return html`<li class="request-row" data-testid=${incoming ? 'incoming-request' : 'outgoing-request'}
      data-username=${other?.username} data-request-id=${request.id}>
    <${Avatar} user=${other} />
    <div class="row-main">
      <div class="row-top">
        <span class="row-title text-truncate">${other?.display_name}</span>
        <time class="row-time" datetime=${request.created_at}>${formatListTime(request.created_at)}</time>
      </div>
      <div class="row-sub text-truncate">@${other?.username}</div>
      ${request.note && html`<div class="request-note">${request.note}</div>`}
      ${error && html`<div class="text-danger small mt-1" role="alert">${error}</div>`}
      <div class="request-actions">
        ${incoming ? html`
          <button type="button" class="btn btn-sm btn-primary" disabled=${busy} data-testid="accept-request"
            onClick=${() => act('accept')}>${t('requests.accept')}</button>
          <button type="button" class="btn btn-sm btn-light" disabled=${busy} data-testid="decline-request"
            onClick=${() => act('decline')}>${t('requests.decline')}</button>` : html`
          <span class="text-body-secondary small me-auto">${t('requests.waiting')}</span>
          <button type="button" class="btn btn-sm btn-light" disabled=${busy} data-testid="cancel-request"
            onClick=${() => act('cancel')}>${t('requests.cancel')}</button>`}
      </div>
    </div>
  </li>`;
}

export function RequestList() {
  if (!state.listsLoaded) return html`<div class="p-4 text-center"><${Spinner} /></div>`;
  const incoming = incomingRequests();
  const outgoing = outgoingRequests();
  if (incoming.length === 0 && outgoing.length === 0) {
    return html`<${EmptyState} title=${t('requests.emptyTitle')} text=${t('requests.emptyText')} />`;
  }
  return html`<div>
    ${incoming.length > 0 && html`<h2 class="list-heading">${t('requests.received')}</h2>
      <ul class="list-rows" role="list">${incoming.map((r) => html`<${RequestRow} key=${r.id} request=${r} incoming />`)}</ul>`}
    ${outgoing.length > 0 && html`<h2 class="list-heading">${t('requests.sent')}</h2>
      <ul class="list-rows" role="list">${outgoing.map((r) => html`<${RequestRow} key=${r.id} request=${r} />`)}</ul>`}
  </div>`;
}
