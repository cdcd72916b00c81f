// msgparts.js: small parts of a message in the list: the receipt ticks on
// the user's own messages, the recall action, and the grey line that stands
// where a recalled message was.

import { html } from '../html.js';
import { t } from '../i18n.js';
import { recallText } from '../systemtext.js';

// Receipt shows ✓ sent, ✓✓ delivered, ✓✓ in colour read.
export function Receipt({ receipt }) {
  if (!receipt) return null;
  const label = t(`receipt.${receipt}`);
  return html`<span class="receipt receipt-${receipt}" data-testid="receipt" data-receipt=${receipt}
    title=${label} aria-label=${label} role="img">${receipt === 'sent' ? '✓' : '✓✓'}</span>`;
}

// RecallAction is the button that recalls the user's own message (within
// the window) or, for a group's owner and admins, deletes anyone's.
export function RecallAction({ kind, onClick }) {
  if (!kind) return null;
  const label = kind === 'recall' ? t('msg.recall') : t('msg.delete');
  return html`<button type="button" class="msg-action" data-testid="message-recall" data-action=${kind}
    title=${label} onClick=${onClick}>${label}</button>`;
}

// RecalledLine stands where a recalled message was.
export function RecalledLine({ m }) {
  return html`<div class="msg-system msg-recalled" data-testid="recalled-message" data-seq=${m.seq}>
    <span>${recallText(m)}</span></div>`;
}
