// Form conventions shared by the pages that create things.

/** Tenant keys and connector ids: the server's slug rule, for the browser to check first. */
export const SLUG_HINT = 'Lowercase letters, digits, “-” and “_”; starts with a letter or digit.';
export const SLUG_PATTERN = '[a-z0-9][a-z0-9_\\-]{0,63}';
