// common.js: small pieces used across views: avatar, dialog, connection
// state, language switch, toasts.

import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { getLocale, otherLocale, setLocale, t } from '../i18n.js';
import { avatarClass, initialOf } from '../people.js';
import { dismissToast, state } from '../state.js';
import { IconClose, IconGlobe } from './icons.js';

// Avatar is a person's initial on a colour of their own; a group's (a face
// with group set) is a rounded square.
export function Avatar({ user, size = 'md' }) {
  return html`<span class="avatar avatar-${size} ${avatarClass(user?.id)} ${user?.group ? 'avatar-square' : ''}"
    aria-hidden="true">${initialOf(user?.display_name)}</span>`;
}

// Modal is a Bootstrap dialog driven by Preact instead of bootstrap.js:
// Escape and a click outside close it; focus moves into it.
export function Modal({ title, onClose, children, footer, testid }) {
  const box = useRef(null);
  useEffect(() => {
    const prev = document.activeElement;
    // The first field, else the main button, else any button (the close).
    const first = ['input, textarea, select', '.modal-footer .btn-primary, .modal-footer .btn-danger', 'button']
      .map((sel) => box.current?.querySelector(sel)).find(Boolean);
    first?.focus();
    // Captured, and stopped, so that Escape closes this dialog and not a
    // side panel under it.
    const onKey = (e) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      onClose();
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      prev?.focus?.();
    };
  }, []);
  const outside = (e) => { if (e.target === e.currentTarget) onClose(); };
  return html`
    <div class="modal d-block" role="dialog" aria-modal="true" aria-label=${title} data-testid=${testid} onMouseDown=${outside}>
      <div class="modal-dialog modal-dialog-centered" ref=${box}>
        <div class="modal-content">
          <div class="modal-header">
            <h2 class="modal-title fs-5">${title}</h2>
            <button type="button" class="btn-close" aria-label=${t('common.close')} onClick=${onClose}></button>
          </div>
          <div class="modal-body">${children}</div>
          ${footer && html`<div class="modal-footer">${footer}</div>`}
        </div>
      </div>
    </div>
    <div class="modal-backdrop show"></div>`;
}

export function ConfirmDialog({ title, text, confirmLabel, danger, busy, error, onConfirm, onClose }) {
  return html`<${Modal} title=${title} onClose=${onClose} testid="confirm-dialog" footer=${html`
      <button type="button" class="btn btn-light" onClick=${onClose}>${t('common.cancel')}</button>
      <button type="button" class="btn ${danger ? 'btn-danger' : 'btn-primary'}" disabled=${busy}
        data-testid="confirm-ok" onClick=${onConfirm}>${confirmLabel}</button>`}>
      <p class="mb-0">${text}</p>
      ${error && html`<div class="alert alert-danger mt-3 mb-0 py-2" role="alert">${error}</div>`}
    <//>`;
}

// ConnState shows the live connection's state and, when it is not the
// WebSocket, the transport that carries it (a fallback); its tooltip and
// data-transport always say which.
export function ConnState({ conn, transport }) {
  const via = transport ? t(`transport.via.${transport}`) : '';
  return html`<span class="conn conn-${conn}" data-testid="conn-state" data-state=${conn} data-transport=${transport || undefined}
    role="status" title=${via}>
    <span class="conn-dot" aria-hidden="true"></span><span class="conn-text">${t(`conn.${conn}`)}${transport && transport !== 'ws' &&
      ` · ${t(`transport.short.${transport}`)}`}</span></span>`;
}

export function LangSwitch({ className = '' }) {
  const next = otherLocale();
  return html`<button type="button" class="btn btn-sm btn-icon lang-switch ${className}" data-testid="lang-switch"
      data-lang=${getLocale()} title=${t('lang.switchTo')} aria-label=${t('lang.switchTo')}
      onClick=${() => setLocale(next)}>
    <${IconGlobe} /><span class="ms-1">${t(`lang.name.${next}`)}</span></button>`;
}

export function Spinner({ small }) {
  return html`<span class="spinner-border ${small ? 'spinner-border-sm' : ''}" role="status">
    <span class="visually-hidden">${t('common.loading')}</span></span>`;
}

export function Toasts() {
  return html`<div class="toast-stack" aria-live="polite">
    ${state.toasts.map((x) => html`
      <div key=${x.id} class="toast show align-items-center border-0 text-bg-${x.kind === 'info' ? 'dark' : x.kind}" role="status">
        <div class="d-flex">
          <div class="toast-body">${x.text()}</div>
          <button type="button" class="btn btn-sm text-reset me-2 m-auto" aria-label=${t('common.close')}
            onClick=${() => dismissToast(x.id)}><${IconClose} size=${16} /></button>
        </div>
      </div>`)}
  </div>`;
}

// EmptyState is the grey text of an empty list or pane.
export function EmptyState({ title, text, children }) {
  return html`<div class="empty-state">
    ${title && html`<div class="empty-title">${title}</div>`}
    ${text && html`<div class="empty-text">${text}</div>`}
    ${children}
  </div>`;
}

// SidePanel is a Bootstrap offcanvas from the right, driven by Preact: the
// member list, join requests and group settings of the open chat. Escape
// and a click beside it close it.
export function SidePanel({ title, onClose, testid, children }) {
  const box = useRef(null);
  useEffect(() => {
    const prev = document.activeElement;
    box.current?.focus();
    const onKey = (e) => { if (e.key === 'Escape') onClose(); };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (document.activeElement === document.body || box.current?.contains(document.activeElement)) prev?.focus?.();
    };
  }, []);
  return html`
    <div class="offcanvas offcanvas-end show side-panel" role="dialog" aria-modal="true" aria-label=${title}
      data-testid=${testid} tabindex="-1" ref=${box}>
      <div class="offcanvas-header">
        <h2 class="offcanvas-title fs-5 text-truncate">${title}</h2>
        <button type="button" class="btn-close" aria-label=${t('common.close')} data-testid="panel-close" onClick=${onClose}></button>
      </div>
      <div class="offcanvas-body">${children}</div>
    </div>
    <div class="offcanvas-backdrop show" onClick=${onClose}></div>`;
}

// Field is a labelled form control with an optional hint and error.
export function Field({ id, label, hint, error, children }) {
  return html`<div class="mb-3">
    <label class="form-label fw-semibold small" for=${id}>${label}</label>
    ${children}
    ${hint && !error && html`<div class="form-text">${hint}</div>`}
    ${error && html`<div class="invalid-feedback d-block">${error}</div>`}
  </div>`;
}
