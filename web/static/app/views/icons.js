// icons.js: the few line icons the client draws, as inline SVG elements.
import { html } from '../html.js';

function icon(children, size = 20) {
  return html`<svg class="icon" width=${size} height=${size} viewBox="0 0 24 24" fill="none"
    stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
    aria-hidden="true" focusable="false">${children}</svg>`;
}

export const IconSearch = () => icon(html`<circle cx="11" cy="11" r="7" /><path d="M20 20l-3.5-3.5" />`);
export const IconBack = () => icon(html`<path d="M15 5l-7 7 7 7" />`);
export const IconClose = ({ size }) => icon(html`<path d="M6 6l12 12M18 6L6 18" />`, size);
export const IconSend = () => icon(html`<path d="M4 12l16-8-6 16-2.5-6.5z" /><path d="M11.5 13.5L20 4" />`);
export const IconSettings = () => icon(html`<path d="M4 7h10M18 7h2M4 17h4M12 17h8" /><circle cx="16" cy="7" r="2" /><circle cx="10" cy="17" r="2" />`);
export const IconLogout = () => icon(html`<path d="M14 4h4a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-4" /><path d="M10 16l-4-4 4-4M6 12h10" />`);
export const IconMore = () => icon(html`<circle cx="5" cy="12" r="1.2" /><circle cx="12" cy="12" r="1.2" /><circle cx="19" cy="12" r="1.2" />`);
export const IconAddUser = () => icon(html`<circle cx="9" cy="8" r="4" /><path d="M2 21c0-4 3-6.5 7-6.5s7 2.5 7 6.5" /><path d="M19 8v6M16 11h6" />`);
export const IconChat = ({ size }) => icon(html`<path d="M4 5h16v11H9l-5 4z" />`, size);
export const IconClock = () => icon(html`<circle cx="12" cy="12" r="8" /><path d="M12 8v4l3 2" />`, 14);
export const IconAlert = () => icon(html`<circle cx="12" cy="12" r="9" /><path d="M12 7v6M12 16.5v.5" />`, 14);
export const IconGlobe = () => icon(html`<circle cx="12" cy="12" r="9" /><path d="M3 12h18M12 3c2.5 2.5 3.5 5.5 3.5 9s-1 6.5-3.5 9c-2.5-2.5-3.5-5.5-3.5-9s1-6.5 3.5-9z" />`, 18);
export const IconUsers = () => icon(html`<circle cx="9" cy="8" r="3.5" /><path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6" /><path d="M16 4.6a3.5 3.5 0 0 1 0 6.8M18 14.3c2.1.7 3.5 2.8 3.5 5.7" />`);
export const IconInbox = () => icon(html`<path d="M4 13l2.5-8h11L20 13v6H4z" /><path d="M4 13h4.5l1 2h5l1-2H20" />`);
export const IconInfo = () => icon(html`<circle cx="12" cy="12" r="9" /><path d="M12 11v5.5M12 7.5v.5" />`);
export const IconPlus = () => icon(html`<path d="M12 5v14M5 12h14" />`);
export const IconMuted = () => icon(html`<path d="M4 9h4l5-4v14l-5-4H4z" /><path d="M17 9.5l4 5M21 9.5l-4 5" />`, 14);
