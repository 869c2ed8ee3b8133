// Widgets shared by the operator console and the pages to come (dashboard, customer pages):
// import them from here, never from another page's view.
export { flag, lastSeen, seatBadge, statusBadge } from './badges.js';
export { SLUG_HINT, SLUG_PATTERN } from './forms.js';
export { dataTable, emptyRow, errorSlot, inlineError, panel } from './layout.js';
export { tokenReveal } from './token-reveal.js';
