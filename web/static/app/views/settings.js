// settings.js: the settings dialog: display name, password, blocked people,
// language, and how to connect.

import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';
import { LOCALES, errorText, getLocale, setLocale, t } from '../i18n.js';
import { TRANSPORT_MODES } from '../live.js';
import { live } from '../session.js';
import { emit, state } from '../state.js';
import { DISPLAY_NAME_MAX, displayNameProblem, passwordProblem } from './auth.js';
import { BlockedList } from './blocks.js';
import { Modal } from './common.js';

function Result({ ok, error }) {
  if (error) return html`<div class="text-danger small mt-2" role="alert">${error}</div>`;
  if (ok) return html`<div class="text-success small mt-2" role="status">${ok}</div>`;
  return null;
}

function NameForm() {
  const [name, setName] = useState(state.me?.display_name ?? '');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState({});
  const problem = displayNameProblem(name);
  const save = async (e) => {
    e.preventDefault();
    if (problem) return setResult({ error: problem });
    setBusy(true);
    try {
      const r = await api.updateMe(name.trim());
      state.me = r.user;
      emit();
      setResult({ ok: t('settings.saved') });
    } catch (err) {
      setResult({ error: errorText(err) });
    }
    setBusy(false);
  };
  return html`<form onSubmit=${save} class="mb-4">
    <label class="form-label fw-semibold" for="set-display">${t('auth.displayName')}</label>
    <div class="input-group">
      <input id="set-display" class="form-control" value=${name} data-testid="settings-display"
        onInput=${(e) => { setName(e.currentTarget.value); setResult({}); }} />
      <button type="submit" class="btn btn-primary" disabled=${busy || name.trim() === state.me?.display_name}
        data-testid="settings-display-save">${t('common.save')}</button>
    </div>
    <div class="form-text">${t('settings.displayNameHint', { max: DISPLAY_NAME_MAX })}</div>
    <${Result} ...${result} />
  </form>`;
}

function PasswordForm() {
  const [oldPw, setOldPw] = useState('');
  const [newPw, setNewPw] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState({});
  const save = async (e) => {
    e.preventDefault();
    const problem = !oldPw ? t('settings.oldPasswordEmpty')
      : passwordProblem(newPw) || (newPw !== again ? t('settings.passwordMismatch') : null);
    if (problem) return setResult({ error: problem });
    setBusy(true);
    try {
      await api.changePassword(oldPw, newPw);
      setOldPw('');
      setNewPw('');
      setAgain('');
      setResult({ ok: t('settings.passwordChanged') });
    } catch (err) {
      setResult({ error: err.code === 'bad_credentials' ? t('settings.oldPasswordWrong') : errorText(err) });
    }
    setBusy(false);
  };
  const field = (id, label, value, set, autocomplete) => html`<div class="mb-2">
    <label class="form-label small" for=${id}>${label}</label>
    <input id=${id} type="password" class="form-control" value=${value} autocomplete=${autocomplete}
      data-testid=${id} onInput=${(e) => { set(e.currentTarget.value); setResult({}); }} /></div>`;
  return html`<form onSubmit=${save} class="mb-4">
    <div class="fw-semibold mb-2">${t('settings.password')}</div>
    <input type="text" class="d-none" autocomplete="username" value=${state.me?.username ?? ''} readonly aria-hidden="true" tabindex="-1" />
    ${field('settings-old-password', t('settings.oldPassword'), oldPw, setOldPw, 'current-password')}
    ${field('settings-new-password', t('settings.newPassword'), newPw, setNewPw, 'new-password')}
    ${field('settings-new-password2', t('settings.newPasswordAgain'), again, setAgain, 'new-password')}
    <div class="form-text mb-2">${t('settings.passwordHint')}</div>
    <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="settings-password-save">
      ${t('settings.changePassword')}</button>
    <${Result} ...${result} />
  </form>`;
}

export function SettingsDialog({ onClose }) {
  return html`<${Modal} title=${t('settings.title')} onClose=${onClose} testid="settings">
    <div class="mb-4 small text-body-secondary">${t('settings.signedInAs', { username: state.me?.username ?? '' })}</div>
    <${NameForm} />
    <${PasswordForm} />
    <${BlockedList} />
    <div>
      <label class="form-label fw-semibold" for="set-lang">${t('settings.language')}</label>
      <select id="set-lang" class="form-select" value=${getLocale()} data-testid="settings-language"
        onChange=${(e) => setLocale(e.currentTarget.value)}>
        ${LOCALES.map((l) => html`<option value=${l}>${t(`lang.name.${l}`)}</option>`)}
      </select>
    </div>
    <${TransportSetting} />
  <//>`;
}

// TransportSetting chooses how the live stream connects: automatically
// (WebSocket, falling back to Server-Sent Events, then long-polling), or
// one of them always.
function TransportSetting() {
  const [mode, setMode] = useState(live.mode);
  return html`<div class="mt-4">
    <label class="form-label fw-semibold" for="set-transport">${t('settings.transport')}</label>
    <select id="set-transport" class="form-select" value=${mode} data-testid="transport-select"
      onChange=${(e) => { const m = e.currentTarget.value; setMode(m); live.setMode(m); }}>
      ${TRANSPORT_MODES.map((m) => html`<option value=${m}>${t(`transport.mode.${m}`)}</option>`)}
    </select>
    <div class="form-text">${t('settings.transportHint')}</div>
  </div>`;
}
