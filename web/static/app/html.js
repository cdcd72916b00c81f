// html.js: htm bound to Preact's h, so views write html`<div>...</div>`
// without a build step. htm creates elements and text nodes, never HTML
// strings, so whatever a user typed is always shown as text.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
