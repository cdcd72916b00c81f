// joinrequests.js: the requests to join a group, for its owner and admins:
// who asks, their note and when, with Approve and Reject. The list updates
// live; when another admin decided first, it says so and refreshes.

import { useEffect, useState } from 'preact/hooks';
import { decideJoinRequest, loadJoinRequests, pendingJoinRequests } from '../groups.js';
import { html } from '../html.js';
import { errorText, formatDateTime, formatListTime, t } from '../i18n.js';
import { emit, state, toast } from '../state.js';
import { Avatar, EmptyState, SidePanel } from './common.js';

function JoinRequestRow({ req }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const user = req.user;
  const act = async (action) => {
    setBusy(action);
    setError(null);
    try {
      await decideJoinRequest(req, action);
      const name = user?.display_name ?? '';
      if (action === 'approve') toast(() => t('joinreq.approved', { name }), 'success');
      else toast(() => t('joinreq.rejected', { name }));
    } catch (err) {
      setBusy(null);
      if (err.code === 'conflict' || err.code === 'not_found') toast(() => t('joinreq.alreadyDecided'));
      else setError(errorText(err));
    }
  };
  return html`<li class="request-row" data-testid="join-request" data-username=${user?.username} data-request-id=${req.id}>
    <${Avatar} user=${user} size="sm" />
    <div class="row-main">
      <div class="row-top">
        <span class="row-title text-truncate">${user?.display_name}</span>
        <time class="row-time" datetime=${req.created_at} title=${formatDateTime(req.created_at)}>${formatListTime(req.created_at)}</time>
      </div>
      <div class="row-sub text-truncate">@${user?.username}</div>
      ${req.note ? html`<div class="request-note" data-testid="join-request-note">${req.note}</div>`
        : html`<div class="small text-body-secondary fst-italic mt-1">${t('joinreq.noNote')}</div>`}
      ${error && html`<div class="text-danger small mt-1" role="alert" data-testid="join-request-error">${error}</div>`}
      <div class="request-actions">
        <button type="button" class="btn btn-sm btn-primary" disabled=${busy} data-testid="join-approve"
          onClick=${() => act('approve')}>${t('joinreq.approve')}</button>
        <button type="button" class="btn btn-sm btn-light" disabled=${busy} data-testid="join-reject"
          onClick=${() => act('reject')}>${t('joinreq.reject')}</button>
      </div>
    </div>
  </li>`;
}

export function JoinRequestsPanel({ g }) {
  useEffect(() => { loadJoinRequests(g.id).catch(() => {}); }, [g.id]);
  const list = pendingJoinRequests(g.id);
  const close = () => { state.panel = null; emit(); };
  return html`<${SidePanel} title=${t('joinreq.titleGroup', { name: g.name })} onClose=${close} testid="join-requests-panel">
    ${list.length === 0
      ? html`<${EmptyState} title=${t('joinreq.emptyTitle')} text=${t('joinreq.emptyText')} />`
      : html`<ul class="list-rows p-0" role="list">${list.map((r) => html`<${JoinRequestRow} key=${r.id} req=${r} />`)}</ul>`}
  <//>`;
}
