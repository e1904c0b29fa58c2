// A labelled <vscode-single-select> for the webviews' figure controls (window size, source set, feature group, …).
// The page that uses it imports the vscode-single-select and vscode-option elements.
import { el } from './vscode';

/** A select `id` labelled `label`, with `options`, `value` selected; `onChange` gets the value picked. */
export function selectControl(label: string, id: string, options: { value: string; label: string }[], value: string, onChange: (v: string) => void): HTMLElement {
  const sel = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  sel.id = id;
  sel.setAttribute('aria-label', label);
  for (const o of options) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === value) opt.setAttribute('selected', '');
    sel.append(opt);
  }
  sel.addEventListener('change', () => onChange(sel.value));
  const lab = el('label', { class: 'control', for: id }, el('span', { class: 'control-label', text: label }));
  lab.append(sel);
  return lab;
}
