// blocks.js: the people the user blocked, in the settings dialog, each
// with Unblock.

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { sortedBlocks, unblockUser } from '../users.js';
import { Avatar } from './common.js';

function BlockedRow({ user }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const unblock = async () => {
    setBusy(true);
    setError(null);
    try {
      await unblockUser(user.id);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<li class="blocked-row" data-testid="blocked-item" data-username=${user.username}>
    <${Avatar} user=${user} size="sm" />
    <div class="row-main">
      <span class="row-title text-truncate">${user.display_name}</span>
      <span class="row-sub text-truncate">@${user.username}</span>
      ${error && html`<span class="text-danger small" role="alert">${error}</span>`}
    </div>
    <button type="button" class="btn btn-sm btn-light" disabled=${busy} data-testid="unblock-user"
      onClick=${unblock}>${t('blocks.unblock')}</button>
  </li>`;
}

export function BlockedList() {
  const users = sortedBlocks();
  return html`<div class="mb-4" data-testid="blocked-list">
    <div class="fw-semibold mb-1">${t('blocks.title')}</div>
    <div class="form-text mb-2">${t('blocks.hint')}</div>
    ${users.length === 0
      ? html`<div class="small text-body-secondary" data-testid="blocked-empty">${t('blocks.empty')}</div>`
      : html`<ul class="list-unstyled mb-0">${users.map((u) => html`<${BlockedRow} key=${u.id} user=${u} />`)}</ul>`}
  </div>`;
}
