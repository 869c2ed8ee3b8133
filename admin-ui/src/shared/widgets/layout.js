// The building blocks every page is laid out from: panels, tables, inline errors.
import { showError } from '../api.js';
import { h } from '../dom.js';

/**
 * A <section class="panel"> labelled by its heading.
 *   panel({ titleId, title, id, heading: 'h1', head: [badge, button] }, ...body)
 * `head` nodes sit beside the heading in the panel head; `bare: true` puts the heading straight
 * into the panel, for panels that have nothing beside it.
 */
export function panel({ titleId, title, id, heading = 'h2', head = [], bare = false }, ...body) {
  const headingEl = h(heading, { id: titleId }, title);
  return h('section', { class: 'panel', id, attrs: { 'aria-labelledby': titleId } },
    bare ? headingEl : h('div', { class: 'panel-head' }, headingEl, head),
    body);
}

/** A scrollable table labelled by `labelledBy`, with column headings and the given <tbody>. */
export function dataTable(labelledBy, columns, tbody) {
  return h('div', { class: 'table-wrap' },
    h('table', { attrs: { 'aria-labelledby': labelledBy } },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      tbody));
}

/** The one row of an empty table. */
export function emptyRow(colSpan, text) {
  return h('tr', { class: 'empty-row' }, h('td', { colSpan }, text));
}

/** A container showing `err` (for pages that replace their content with an error). */
export function inlineError(err, opts) {
  const slot = h('div');
  showError(slot, err, opts);
  return slot;
}

/** A slot for the errors of a form or an action, announced as they appear. */
export function errorSlot() {
  return h('div', { attrs: { 'aria-live': 'assertive' } });
}
