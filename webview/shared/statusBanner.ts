// The status line at the top of a webview: busy (with a spinner), error or info, or nothing.
import { el, type StatusKind } from './vscode';

/** Shows `message` of `kind` in `banner` (nothing when either is missing); returns whether a message is shown. */
export function showStatus(banner: HTMLElement, kind: StatusKind, message?: string): boolean {
  banner.replaceChildren();
  banner.className = `status${kind ? ' ' + kind : ''}`;
  if (!kind || !message) return false;
  if (kind === 'busy') banner.append(el('span', { class: 'spinner', 'aria-hidden': 'true' }));
  banner.append(el('span', { text: message }));
  return true;
}
