// The prompt's tokens coloured by role (subject, relation, last) and the legend of the roles, as the knockout panel and
// the attention heatmap show them.
import type { TokenRole } from '../../src/engine/experiments/resultTypes';
import { ROLE_LABEL, roleColor, withAlpha, type Theme } from './colors';
import { el } from './vscode';

/** One span per token (spaces kept visible), tinted and underlined in its role's colour; a token without a role is plain. */
export function roleTokens(tokens: readonly { text: string; role?: TokenRole }[], theme: Theme): HTMLElement {
  const p = el('p', { class: 'tokens', 'aria-label': 'Prompt tokens coloured by role' });
  tokens.forEach((t, i) => {
    const s = el('span', { class: `tok${t.role ? ' role-' + t.role : ''}`, title: `position ${i}${t.role ? ', ' + ROLE_LABEL[t.role] : ''}`, 'data-role': t.role ?? '' });
    s.textContent = t.text.replace(/ /g, '\u00a0');
    if (t.role) {
      const c = roleColor(t.role, theme);
      s.style.setProperty('background-color', withAlpha(c, 0.22));
      s.style.setProperty('border-bottom-color', c);
    }
    p.append(s);
  });
  return p;
}

/** The swatch and name of each role; `attrs` are added to the legend's element (after its class). */
export function roleLegend(theme: Theme, attrs: Record<string, string> = {}): HTMLElement {
  const legend = el('p', { class: 'role-legend', ...attrs });
  for (const r of ['subject', 'relation', 'last'] as const) {
    const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.setProperty('background-color', roleColor(r, theme));
    legend.append(el('span', { class: 'legend-item' }, sw, ROLE_LABEL[r]));
  }
  return legend;
}
