// main.js: the entry point: load the catalog, render, sign in.

import { render } from 'preact';
import { html } from './html.js';
import { initI18n, onLocaleChange } from './i18n.js';
import { boot } from './session.js';
import { emit } from './state.js';
import { App } from './views/app.js';

async function main() {
  await initI18n();
  onLocaleChange(() => emit());
  const root = document.getElementById('app');
  root.textContent = '';
  render(html`<${App} />`, root);
  await boot();
}

main();
