// viewer.js: a picture at full size, over everything: the thumbnail
// (already loaded) stands in, scaled up, until the picture arrives. Escape,
// the close button or a click anywhere but the toolbar closes it; the
// toolbar opens the original in a tab of its own or downloads it.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { Spinner } from './common.js';
import { IconClose } from './icons.js';
import { IconDownload, attachmentURL, fit, formatSize } from './mediaparts.js';

const MARGIN = 16; // pixels kept free around the picture
const BAR = 56; // the toolbar's height

function stage() {
  return { w: window.innerWidth - 2 * MARGIN, h: window.innerHeight - BAR - 2 * MARGIN };
}

export function ImageViewer({ a, onClose }) {
  const [room, setRoom] = useState(stage);
  const [loaded, setLoaded] = useState(false);
  const [failed, setFailed] = useState(false);
  const closer = useRef(null);

  // A layout effect, so Escape works from the moment the viewer is on the
  // screen: a plain effect waits for the next frame, which a busy browser
  // delays, and a quick Escape was lost.
  useLayoutEffect(() => {
    const prev = document.activeElement;
    closer.current?.focus();
    // Captured and stopped, so that Escape closes the viewer and nothing
    // under it (a side panel).
    const onKey = (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      onClose();
    };
    const onResize = () => setRoom(stage());
    document.addEventListener('keydown', onKey, true);
    window.addEventListener('resize', onResize);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      window.removeEventListener('resize', onResize);
      prev?.focus?.();
    };
  }, []);

  const [w, h] = fit(a.width, a.height, room.w, room.h);
  const full = attachmentURL(a.id);
  const keep = (e) => e.stopPropagation();
  return html`<div class="media-viewer" role="dialog" aria-modal="true" aria-label=${a.name}
      data-testid="image-viewer" onClick=${onClose}>
    <div class="media-viewer-bar" onClick=${keep}>
      <div class="media-viewer-title">
        <div class="media-viewer-name" title=${a.name}>${a.name}</div>
        <div class="media-viewer-info">${a.width} × ${a.height} · ${formatSize(a.size)}</div>
      </div>
      <a class="btn btn-sm btn-outline-light" href=${full} target="_blank" rel="noopener" data-testid="viewer-original">
        ${t('media.viewOriginal')}</a>
      <a class="btn btn-sm btn-outline-light" href=${`${full}?download=1`} download=${a.name} data-testid="viewer-download">
        <${IconDownload} size=${16} /><span class="ms-1 d-none d-sm-inline">${t('media.download')}</span></a>
      <button type="button" class="btn btn-sm btn-outline-light" ref=${closer} data-testid="viewer-close"
        aria-label=${t('common.close')} title=${t('media.closeViewer')} onClick=${onClose}><${IconClose} size=${18} /></button>
    </div>
    <div class="media-viewer-stage">
      <div class="media-viewer-frame ${loaded ? 'is-loaded' : ''}">
        ${!loaded && html`<img class="media-viewer-under" src=${attachmentURL(a.id, true)} width=${w} height=${h} alt="" aria-hidden="true" />`}
        <img class="media-viewer-full" data-testid="full-image" src=${full} width=${w} height=${h} alt=${a.name}
          onLoad=${() => setLoaded(true)} onError=${() => setFailed(true)} />
        ${!loaded && !failed && html`<span class="media-viewer-spin"><${Spinner} /></span>`}
        ${failed && html`<span class="media-viewer-failed" role="alert">${t('media.imageUnavailable')}</span>`}
      </div>
    </div>
  </div>`;
}
