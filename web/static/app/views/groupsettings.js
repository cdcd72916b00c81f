// groupsettings.js: a group's side panel of information and settings: what
// the group is; for the owner, its settings and dissolving it; for the
// owner and admins, muting everyone; for everyone else, leaving.

import { useState } from 'preact/hooks';
import { dissolveGroup, isAdminOf, leaveGroup, myRole, setMuteAll, updateGroup } from '../groups.js';
import { html } from '../html.js';
import { errorText, formatDateTime, t } from '../i18n.js';
import { groupFace } from '../people.js';
import { closeConversation } from '../router.js';
import { emit, state, toast } from '../state.js';
import { Avatar, ConfirmDialog, SidePanel } from './common.js';
import { GroupFields, fieldsOf, groupProblems, policyText, settingsOf } from './groupform.js';

function Info({ g }) {
  return html`<div class="group-info mb-4">
    <div class="d-flex align-items-center gap-3 mb-2">
      <${Avatar} user=${groupFace(g)} />
      <div class="min-w-0">
        <div class="fw-semibold text-truncate" data-testid="group-info-name">${g.name}</div>
        <div class="small text-body-secondary">${t('group.numberLabel', { number: g.number })}</div>
      </div>
    </div>
    ${g.description && html`<p class="group-description mb-2">${g.description}</p>`}
    <dl class="group-facts small mb-0">
      <dt>${t('group.policy')}</dt><dd>${policyText(g.join_policy)}</dd>
      <dt>${t('group.membersLabel')}</dt><dd>${t('group.memberCount', { count: g.member_count, limit: g.member_limit })}</dd>
      <dt>${t('group.tempLabel')}</dt><dd>${g.allow_temp_sessions ? t('group.tempOn') : t('group.tempOff')}</dd>
      <dt>${t('group.createdLabel')}</dt><dd>${formatDateTime(g.created_at)}</dd>
    </dl>
  </div>`;
}

function EditForm({ g }) {
  const [v, setV] = useState(fieldsOf(g));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState({});
  const problems = groupProblems(v);
  const save = async (e) => {
    e.preventDefault();
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      await updateGroup(g, settingsOf(v));
      setResult({ ok: t('settings.saved') });
    } catch (err) {
      setResult({ error: errorText(err) });
    }
    setBusy(false);
  };
  return html`<form onSubmit=${save} class="mb-4" novalidate>
    <h3 class="panel-heading">${t('groupset.edit')}</h3>
    <${GroupFields} v=${v} set=${(patch) => { setV({ ...v, ...patch }); setResult({}); }} problems=${problems} prefix="edit-group" />
    <button type="submit" class="btn btn-primary" disabled=${busy || Object.keys(problems).length > 0}
      data-testid="group-settings-save">${t('common.save')}</button>
    ${result.ok && html`<span class="text-success small ms-2" role="status">${result.ok}</span>`}
    ${result.error && html`<div class="text-danger small mt-2" role="alert">${result.error}</div>`}
  </form>`;
}

function MuteAll({ g }) {
  const [busy, setBusy] = useState(false);
  const toggle = async (on) => {
    setBusy(true);
    try {
      await setMuteAll(g, on);
    } catch (err) {
      toast(() => errorText(err), 'danger');
    }
    setBusy(false);
  };
  return html`<div class="mb-4">
    <h3 class="panel-heading">${t('groupset.moderation')}</h3>
    <div class="form-check form-switch">
      <input id="mute-all" class="form-check-input" type="checkbox" role="switch" checked=${g.mute_all} disabled=${busy}
        data-testid="mute-all-toggle" onChange=${(e) => toggle(e.currentTarget.checked)} />
      <label class="form-check-label" for="mute-all">${t('groupset.muteAll')}</label>
    </div>
    <div class="form-text">${t('groupset.muteAllHint')}</div>
  </div>`;
}

function LeaveOrDissolve({ g }) {
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const owner = myRole(g) === 'owner';
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      if (owner) await dissolveGroup(g);
      else await leaveGroup(g);
      const name = g.name;
      toast(() => (owner ? t('groupset.dissolved', { name }) : t('groupset.left', { name })));
      state.panel = null;
      emit();
      if (state.activeId === g.conversation_id) closeConversation();
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<div class="danger-zone">
    ${owner && html`<p class="small text-body-secondary" data-testid="owner-must-transfer">${t('groupset.ownerCannotLeave')}</p>`}
    ${owner
      ? html`<button type="button" class="btn btn-outline-danger" data-testid="group-dissolve"
          onClick=${() => setConfirm(true)}>${t('groupset.dissolve')}</button>`
      : html`<button type="button" class="btn btn-outline-danger" data-testid="group-leave"
          onClick=${() => setConfirm(true)}>${t('groupset.leave')}</button>`}
    ${confirm && html`<${ConfirmDialog} danger busy=${busy} error=${error}
      title=${owner ? t('groupset.dissolveTitle') : t('groupset.leaveTitle')}
      text=${owner ? t('groupset.dissolveText', { name: g.name }) : t('groupset.leaveText', { name: g.name })}
      confirmLabel=${owner ? t('groupset.dissolve') : t('groupset.leave')}
      onConfirm=${go} onClose=${() => { setConfirm(false); setError(null); }} />`}
  </div>`;
}

export function GroupSettingsPanel({ g }) {
  const close = () => { state.panel = null; emit(); };
  return html`<${SidePanel} title=${t('groupset.title')} onClose=${close} testid="group-settings-panel">
    <${Info} g=${g} />
    ${myRole(g) === 'owner' && html`<${EditForm} key=${g.id} g=${g} />`}
    ${isAdminOf(g) && html`<${MuteAll} g=${g} />`}
    <${LeaveOrDissolve} g=${g} />
  <//>`;
}
