// addmembers.js: for a group's owner and admins, adding friends to the
// group directly, whatever its join policy (the only way into an
// invite-only group).

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { addMember, memberOf } from '../members.js';
import { sortedFriends } from '../people.js';
import { toast } from '../state.js';
import { Avatar } from './common.js';

function Candidate({ g, user }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      await addMember(g, user);
      toast(() => t('members.added', { name: user.display_name }), 'success');
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<li class="blocked-row" data-testid="add-member-candidate" data-username=${user.username}>
    <${Avatar} user=${user} size="sm" />
    <div class="row-main">
      <span class="row-title text-truncate">${user.display_name}</span>
      ${error ? html`<span class="text-danger small" role="alert">${error}</span>`
        : html`<span class="row-sub text-truncate">@${user.username}</span>`}
    </div>
    <button type="button" class="btn btn-sm btn-outline-primary" disabled=${busy} data-testid="member-add"
      onClick=${add}>${t('members.add')}</button>
  </li>`;
}

// AddMembers lists the user's friends who are not in g yet.
export function AddMembers({ g, onClose }) {
  const friends = sortedFriends().filter((f) => !memberOf(g.id, f.user.id));
  return html`<div class="add-members mb-3" data-testid="add-members">
    <div class="d-flex align-items-center mb-1">
      <h3 class="panel-heading mb-0 me-auto">${t('members.addTitle')}</h3>
      <button type="button" class="btn btn-sm btn-link" onClick=${onClose}>${t('common.close')}</button>
    </div>
    ${friends.length === 0
      ? html`<div class="small text-body-secondary">${t('members.addNone')}</div>`
      : html`<ul class="list-unstyled mb-0">${friends.map((f) => html`<${Candidate} key=${f.user.id} g=${g} user=${f.user} />`)}</ul>`}
  </div>`;
}
