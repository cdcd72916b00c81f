// membercard.js: what can be done about one member of a group: write to
// them (the direct chat with a friend, else a temporary chat), add them as
// a friend, block them; and for admins and the owner, by the rules (admins
// act on members, the owner on everyone): mute for a chosen time, unmute,
// remove, make or dismiss admins, transfer ownership. Shown inline in the
// member list and as a card from a sender's name.

import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, formatDuration, formatUntil, t } from '../i18n.js';
import { isForever } from '../groups.js';
import {
  canModerate, ensureMembers, isMutedNow, isOwnerOf, memberOf, muteMember, openChatWith, removeMember,
  setAdmin, transferOwnership, unmuteMember,
} from '../members.js';
import { decide, relationTo } from '../people.js';
import { openConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { isBlocked, userById } from '../users.js';
import { toggleBlock } from './chatheader.js';
import { Avatar, ConfirmDialog, Modal, Spinner } from './common.js';
import { IconMuted } from './icons.js';
import { RequestForm } from './search.js';

// MUTE_MINUTES are the lengths an admin chooses from; "forever" lasts until
// someone unmutes.
const MUTE_MINUTES = [10, 60, 720, 1440, 10080, 43200];

export function RoleBadge({ role }) {
  if (role === 'owner') return html`<span class="badge role-badge role-owner" data-testid="role-badge">${t('members.owner')}</span>`;
  if (role === 'admin') return html`<span class="badge role-badge role-admin" data-testid="role-badge">${t('members.admin')}</span>`;
  return null;
}

// MutedNote says until when a member is muted, or nothing.
export function MutedNote({ member }) {
  if (!isMutedNow(member)) return null;
  const text = isForever(member.muted_until)
    ? t('members.mutedForever')
    : t('members.mutedUntil', { time: formatUntil(member.muted_until) });
  return html`<span class="muted-note" data-testid="muted-note"><${IconMuted} /> ${text}</span>`;
}

function MuteChooser({ busy, onConfirm, onCancel }) {
  const [value, setValue] = useState('10');
  return html`<div class="mute-chooser">
    <label class="form-label small mb-1" for="mute-duration">${t('members.muteFor')}</label>
    <div class="d-flex gap-2">
      <select id="mute-duration" class="form-select form-select-sm" data-testid="mute-duration" value=${value}
        onChange=${(e) => setValue(e.currentTarget.value)}>
        ${MUTE_MINUTES.map((n) => html`<option value=${String(n)}>${formatDuration(n * 60000)}</option>`)}
        <option value="forever">${t('members.muteForever')}</option>
      </select>
      <button type="button" class="btn btn-sm btn-warning text-nowrap" data-testid="mute-confirm" disabled=${busy}
        onClick=${() => onConfirm(value === 'forever' ? null : Number(value))}>${t('members.mute')}</button>
      <button type="button" class="btn btn-sm btn-light" onClick=${onCancel}>${t('common.cancel')}</button>
    </div>
  </div>`;
}

function FriendButton({ user }) {
  const [asking, setAsking] = useState(false);
  const rel = relationTo(user);
  switch (rel.kind) {
    case 'friend':
      return html`<span class="badge text-bg-light align-self-center">${t('members.isFriend')}</span>`;
    case 'requested':
      return html`<span class="badge text-bg-light align-self-center" data-testid="request-pending">${t('search.requested')}</span>`;
    case 'asked':
      return html`<button type="button" class="btn btn-sm btn-primary" data-testid="search-accept"
        onClick=${() => decide(rel.request, 'accept').catch((err) => toast(() => errorText(err), 'danger'))}>${t('requests.accept')}</button>`;
    case 'none':
      return html`<button type="button" class="btn btn-sm btn-outline-primary" data-testid="member-add-friend"
          onClick=${() => setAsking(!asking)}>${t('temp.addFriend')}</button>
        ${asking && html`<div class="w-100"><${RequestForm} user=${user} onDone=${() => setAsking(false)} /></div>`}`;
    default:
      return null;
  }
}

// MemberActions lists the actions the user may take on member (null when
// the person is no longer in the group) of group g (null when the user no
// longer is).
export function MemberActions({ g, member, user, onDone }) {
  const [muting, setMuting] = useState(false);
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(null); // remove | transfer
  if (user.id === state.me?.id) return null;

  const run = async (what, fn, done) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
      setBusy(null);
      setMuting(false);
      setConfirm(null);
      done?.();
    } catch (err) {
      setBusy(null);
      setError(errorText(err));
    }
  };

  const friend = state.friends.has(user.id);
  const canTemp = friend || (g && member && g.allow_temp_sessions);
  const message = () => run('message', async () => {
    const id = await openChatWith(g, user);
    state.tab = 'chats';
    emit();
    onDone?.();
    state.panel = null;
    openConversation(id);
  });
  const moderate = member && canModerate(g, member);
  const owner = member && isOwnerOf(g);
  const muted = isMutedNow(member);
  const name = user.display_name;

  return html`<div class="member-actions">
    <div class="d-flex flex-wrap gap-2">
      <button type="button" class="btn btn-sm btn-primary" data-testid="member-message" disabled=${!canTemp || busy}
        title=${canTemp || !member ? '' : t('members.tempOff')} onClick=${message}>${t('members.message')}</button>
      <${FriendButton} user=${user} />
      <button type="button" class="btn btn-sm btn-light" data-testid=${isBlocked(user.id) ? 'unblock-user' : 'block-user'}
        onClick=${() => toggleBlock(user)}>${isBlocked(user.id) ? t('blocks.unblock') : t('blocks.block')}</button>
    </div>
    ${!canTemp && g && member && html`<div class="form-text mt-1">${t('members.tempOff')}</div>`}
    ${(moderate || owner) && html`<div class="d-flex flex-wrap gap-2 mt-2">
      ${moderate && (muted
        ? html`<button type="button" class="btn btn-sm btn-outline-secondary" data-testid="member-unmute" disabled=${busy}
            onClick=${() => run('unmute', () => unmuteMember(g, member))}>${t('members.unmute')}</button>`
        : html`<button type="button" class="btn btn-sm btn-outline-warning" data-testid="member-mute" disabled=${busy}
            onClick=${() => setMuting(!muting)}>${t('members.mute')}</button>`)}
      ${owner && member.role === 'member' && html`<button type="button" class="btn btn-sm btn-outline-secondary"
        data-testid="member-make-admin" disabled=${busy}
        onClick=${() => run('role', () => setAdmin(g, member, true))}>${t('members.makeAdmin')}</button>`}
      ${owner && member.role === 'admin' && html`<button type="button" class="btn btn-sm btn-outline-secondary"
        data-testid="member-dismiss-admin" disabled=${busy}
        onClick=${() => run('role', () => setAdmin(g, member, false))}>${t('members.dismissAdmin')}</button>`}
      ${owner && html`<button type="button" class="btn btn-sm btn-outline-secondary" data-testid="member-transfer"
        disabled=${busy} onClick=${() => setConfirm('transfer')}>${t('members.transfer')}</button>`}
      ${moderate && html`<button type="button" class="btn btn-sm btn-outline-danger" data-testid="member-remove" disabled=${busy}
        onClick=${() => setConfirm('remove')}>${t('members.remove')}</button>`}
    </div>`}
    ${muting && !muted && html`<${MuteChooser} busy=${busy} onCancel=${() => setMuting(false)}
      onConfirm=${(minutes) => run('mute', () => muteMember(g, member, minutes))} />`}
    ${error && html`<div class="alert alert-danger py-1 px-2 small mt-2 mb-0" role="alert" data-testid="member-error">${error}</div>`}
    ${confirm === 'remove' && html`<${ConfirmDialog} title=${t('members.removeTitle')} danger busy=${busy}
      text=${t('members.removeText', { name, group: g.name })} confirmLabel=${t('members.remove')}
      onConfirm=${() => run('remove', () => removeMember(g, member), () => toast(() => t('members.removed', { name })))}
      onClose=${() => setConfirm(null)} />`}
    ${confirm === 'transfer' && html`<${ConfirmDialog} title=${t('members.transferTitle')} busy=${busy}
      text=${t('members.transferText', { name, group: g.name })} confirmLabel=${t('members.transfer')}
      onConfirm=${() => run('transfer', () => transferOwnership(g, member), () => toast(() => t('members.transferred', { name }), 'success'))}
      onClose=${() => setConfirm(null)} />`}
  </div>`;
}

// MemberCardDialog is a member's card, opened from a sender's name.
export function MemberCardDialog({ groupId, userId, onClose }) {
  useEffect(() => {
    if (state.groups.has(groupId)) ensureMembers(groupId);
  }, [groupId]);
  const g = state.groups.get(groupId) ?? null;
  const member = memberOf(groupId, userId);
  const user = member?.user ?? userById(userId);
  return html`<${Modal} title=${user?.display_name ?? t('common.loading')} onClose=${onClose} testid="member-card">
    ${!user ? html`<div class="text-center"><${Spinner} /></div>` : html`
      <div class="d-flex align-items-center gap-3 mb-3">
        <${Avatar} user=${user} />
        <div class="min-w-0">
          <div class="fw-semibold text-truncate">${user.display_name} <${RoleBadge} role=${member?.role} /></div>
          <div class="small text-body-secondary">@${user.username}</div>
          ${member && html`<${MutedNote} member=${member} />`}
          ${!member && g && html`<div class="small text-body-secondary">${t('members.notMember')}</div>`}
        </div>
      </div>
      <${MemberActions} g=${g} member=${member} user=${user} onDone=${onClose} />`}
  <//>`;
}
