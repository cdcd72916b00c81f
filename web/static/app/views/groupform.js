// groupform.js: a group's settings as form fields (name, description, join
// policy, member limit, temporary chats), the dialog that creates a group
// with them, and how join policies read.

import { useState } from 'preact/hooks';
import { createGroup } from '../groups.js';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { openConversation } from '../router.js';
import { toast } from '../state.js';
import { Field, Modal } from './common.js';

export const GROUP_NAME_MAX = 40;
export const GROUP_DESCRIPTION_MAX = 500;
export const MEMBER_LIMIT_MIN = 2;
export const MEMBER_LIMIT_MAX = 5000;
export const MEMBER_LIMIT_DEFAULT = 500;

// policyText says what a join policy means; policyShort names it on a card.
export function policyText(p) {
  switch (p) {
    case 'open': return t('group.policy.open');
    case 'invite': return t('group.policy.invite');
    default: return t('group.policy.approval');
  }
}

export function policyShort(p) {
  switch (p) {
    case 'open': return t('group.policyShort.open');
    case 'invite': return t('group.policyShort.invite');
    default: return t('group.policyShort.approval');
  }
}

const chars = (s) => [...s].length;

// groupProblems checks the fields as the server will.
export function groupProblems(v) {
  const p = {};
  const name = v.name.trim();
  if (!name) p.name = t('group.nameEmpty');
  else if (chars(name) > GROUP_NAME_MAX) p.name = t('group.nameLong', { max: GROUP_NAME_MAX });
  if (chars(v.description.trim()) > GROUP_DESCRIPTION_MAX) p.description = t('group.descriptionLong', { max: GROUP_DESCRIPTION_MAX });
  const n = Number(v.limit);
  if (!Number.isInteger(n) || n < MEMBER_LIMIT_MIN || n > MEMBER_LIMIT_MAX) {
    p.limit = t('group.limitRange', { min: MEMBER_LIMIT_MIN, max: MEMBER_LIMIT_MAX });
  }
  return p;
}

export function settingsOf(v) {
  return {
    name: v.name.trim(), description: v.description.trim(), join_policy: v.policy,
    member_limit: Number(v.limit), allow_temp_sessions: v.temp,
  };
}

export function fieldsOf(g) {
  return {
    name: g?.name ?? '', description: g?.description ?? '', policy: g?.join_policy ?? 'approval',
    limit: String(g?.member_limit ?? MEMBER_LIMIT_DEFAULT), temp: g?.allow_temp_sessions ?? true,
  };
}

// GroupFields edits v (from fieldsOf) through set(patch); problems are
// shown once shown is true.
export function GroupFields({ v, set, problems = {}, prefix }) {
  return html`<div>
    <${Field} id=${`${prefix}-name`} label=${t('group.name')} error=${problems.name}
      hint=${t('group.nameHint', { max: GROUP_NAME_MAX })}>
      <input id=${`${prefix}-name`} class="form-control ${problems.name ? 'is-invalid' : ''}" value=${v.name}
        data-testid="group-name-input" autocomplete="off" onInput=${(e) => set({ name: e.currentTarget.value })} />
    <//>
    <${Field} id=${`${prefix}-description`} label=${t('group.description')} error=${problems.description}
      hint=${t('group.descriptionHint', { max: GROUP_DESCRIPTION_MAX })}>
      <textarea id=${`${prefix}-description`} class="form-control ${problems.description ? 'is-invalid' : ''}" rows="3"
        value=${v.description} data-testid="group-description-input"
        onInput=${(e) => set({ description: e.currentTarget.value })}></textarea>
    <//>
    <${Field} id=${`${prefix}-policy`} label=${t('group.policy')}>
      <select id=${`${prefix}-policy`} class="form-select" value=${v.policy} data-testid="group-policy-select"
        onChange=${(e) => set({ policy: e.currentTarget.value })}>
        <option value="open">${policyText('open')}</option>
        <option value="approval">${policyText('approval')}</option>
        <option value="invite">${policyText('invite')}</option>
      </select>
    <//>
    <${Field} id=${`${prefix}-limit`} label=${t('group.limit')} error=${problems.limit}>
      <input id=${`${prefix}-limit`} type="number" class="form-control ${problems.limit ? 'is-invalid' : ''}" value=${v.limit}
        min=${MEMBER_LIMIT_MIN} max=${MEMBER_LIMIT_MAX} step="1" inputmode="numeric" data-testid="group-limit-input"
        onInput=${(e) => set({ limit: e.currentTarget.value })} />
    <//>
    <div class="form-check form-switch mb-1">
      <input id=${`${prefix}-temp`} class="form-check-input" type="checkbox" role="switch" checked=${v.temp}
        data-testid="group-temp-toggle" onChange=${(e) => set({ temp: e.currentTarget.checked })} />
      <label class="form-check-label" for=${`${prefix}-temp`}>${t('group.allowTemp')}</label>
    </div>
    <div class="form-text mb-3">${t('group.allowTempHint')}</div>
  </div>`;
}

export function CreateGroupDialog({ onClose }) {
  const [v, setV] = useState(fieldsOf(null));
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const problems = shown ? groupProblems(v) : {};
  const submit = async (e) => {
    e.preventDefault();
    setShown(true);
    if (Object.keys(groupProblems(v)).length) return;
    setBusy(true);
    setError(null);
    try {
      const g = await createGroup(settingsOf(v));
      toast(() => t('group.created', { name: g.name }), 'success');
      onClose();
      openConversation(g.conversation_id);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<${Modal} title=${t('group.createTitle')} onClose=${onClose} testid="group-create-dialog">
    <form onSubmit=${submit} novalidate>
      <${GroupFields} v=${v} set=${(patch) => setV({ ...v, ...patch })} problems=${problems} prefix="new-group" />
      ${error && html`<div class="alert alert-danger py-2" role="alert" data-testid="group-create-error">${error}</div>`}
      <div class="d-flex justify-content-end gap-2">
        <button type="button" class="btn btn-light" onClick=${onClose}>${t('common.cancel')}</button>
        <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="group-create-submit">${t('group.create')}</button>
      </div>
    </form>
  <//>`;
}
