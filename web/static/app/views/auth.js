// auth.js: the login and registration screen. The hints mirror the
// server's rules (chat/validate.go) so most mistakes show before sending.

import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, t } from '../i18n.js';
import { login, register } from '../session.js';
import { state } from '../state.js';
import { LangSwitch } from './common.js';
import { IconChat } from './icons.js';

const USERNAME_RE = /^[a-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN = 8;
export const DISPLAY_NAME_MAX = 64;

export function usernameProblem(name) {
  const v = name.trim().toLowerCase();
  if (v.length < 3 || v.length > 32) return t('auth.usernameLength');
  if (!USERNAME_RE.test(v)) return t('auth.usernameChars');
  return null;
}

export function passwordProblem(pw) {
  return [...pw].length < PASSWORD_MIN ? t('auth.passwordShort', { min: PASSWORD_MIN }) : null;
}

export function displayNameProblem(name) {
  const n = [...name.trim()].length;
  if (n === 0) return t('auth.displayNameEmpty');
  if (n > DISPLAY_NAME_MAX) return t('auth.displayNameLong', { max: DISPLAY_NAME_MAX });
  return null;
}

function Field({ id, label, type = 'text', value, onInput, hint, problem, touched, testid, autocomplete, maxlength }) {
  const invalid = touched && problem;
  return html`<div class="mb-3">
    <label class="form-label" for=${id}>${label}</label>
    <input id=${id} class="form-control ${invalid ? 'is-invalid' : ''}" type=${type} value=${value}
      autocomplete=${autocomplete} data-testid=${testid} maxlength=${maxlength}
      autocapitalize="off" spellcheck="false" aria-describedby=${`${id}-hint`}
      onInput=${(e) => onInput(e.currentTarget.value)} />
    <div id=${`${id}-hint`} class=${invalid ? 'invalid-feedback d-block' : 'form-text'}>${invalid ? problem : hint}</div>
  </div>`;
}

function LoginForm({ onSwitch }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError(t('auth.fillBoth'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(username.trim().toLowerCase(), password);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return html`<form onSubmit=${submit} novalidate>
    <h1 class="h4 mb-4">${t('auth.loginTitle')}</h1>
    ${state.authNotice && html`<div class="alert alert-warning py-2" role="status">${t(`auth.notice.${state.authNotice}`)}</div>`}
    <${Field} id="login-username" label=${t('auth.username')} value=${username} onInput=${setUsername}
      testid="login-username" autocomplete="username" />
    <${Field} id="login-password" label=${t('auth.password')} type="password" value=${password} onInput=${setPassword}
      testid="login-password" autocomplete="current-password" />
    ${error && html`<div class="alert alert-danger py-2" role="alert" data-testid="auth-error">${error}</div>`}
    <button type="submit" class="btn btn-primary w-100 py-2" disabled=${busy} data-testid="login-submit">
      ${busy ? t('auth.loggingIn') : t('auth.login')}</button>
    <p class="text-center mt-4 mb-0 text-body-secondary">${t('auth.noAccount')}${' '}
      <button type="button" class="btn btn-link p-0 align-baseline" data-testid="to-register" onClick=${onSwitch}>
        ${t('auth.toRegister')}</button></p>
  </form>`;
}

function RegisterForm({ onSwitch }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [touched, setTouched] = useState({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const problems = {
    username: usernameProblem(username),
    display: displayNameProblem(displayName),
    password: passwordProblem(password),
  };
  const touch = (name, set) => (v) => {
    set(v);
    setTouched((x) => ({ ...x, [name]: true }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setTouched({ username: true, display: true, password: true });
    if (problems.username || problems.display || problems.password) return;
    setBusy(true);
    setError(null);
    try {
      await register(username.trim().toLowerCase(), displayName.trim(), password);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return html`<form onSubmit=${submit} novalidate>
    <h1 class="h4 mb-4">${t('auth.registerTitle')}</h1>
    <${Field} id="reg-username" label=${t('auth.username')} value=${username} onInput=${touch('username', setUsername)}
      hint=${t('auth.usernameHint')} problem=${problems.username} touched=${touched.username}
      testid="reg-username" autocomplete="username" maxlength="32" />
    <${Field} id="reg-display" label=${t('auth.displayName')} value=${displayName} onInput=${touch('display', setDisplayName)}
      hint=${t('auth.displayNameHint')} problem=${problems.display} touched=${touched.display}
      testid="reg-display" autocomplete="nickname" />
    <${Field} id="reg-password" label=${t('auth.password')} type="password" value=${password}
      onInput=${touch('password', setPassword)} hint=${t('auth.passwordHint', { min: PASSWORD_MIN })}
      problem=${problems.password} touched=${touched.password} testid="reg-password" autocomplete="new-password" />
    ${error && html`<div class="alert alert-danger py-2" role="alert" data-testid="auth-error">${error}</div>`}
    <button type="submit" class="btn btn-primary w-100 py-2" disabled=${busy} data-testid="reg-submit">
      ${busy ? t('auth.registering') : t('auth.register')}</button>
    <p class="text-center mt-4 mb-0 text-body-secondary">${t('auth.haveAccount')}${' '}
      <button type="button" class="btn btn-link p-0 align-baseline" data-testid="to-login" onClick=${onSwitch}>
        ${t('auth.toLogin')}</button></p>
  </form>`;
}

export function AuthScreen() {
  const [mode, setMode] = useState('login');
  return html`<main class="auth-screen">
    <div class="auth-top"><${LangSwitch} /></div>
    <div class="auth-card card shadow-sm">
      <div class="card-body p-4 p-sm-5">
        <div class="brand mb-4"><span class="brand-mark"><${IconChat} size=${26} /></span>
          <span class="brand-name">${t('app.name')}</span></div>
        <p class="text-body-secondary mb-4">${t('app.tagline')}</p>
        ${mode === 'login'
          ? html`<${LoginForm} key="login" onSwitch=${() => setMode('register')} />`
          : html`<${RegisterForm} key="register" onSwitch=${() => setMode('login')} />`}
      </div>
    </div>
  </main>`;
}
