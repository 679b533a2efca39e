// The "Include imported data" toggle. Imported history (schema import) is
// added to every report through the Stats API's include.imports, and so to
// the comparison with an earlier period too. The toggle is on unless the
// view says imports=0, and shown only for a site the API says has imports:
// an answer with imports asked for says "no_imported_data" when there are none.

/** The `include` keys every report of the view sends. */
export function include(view) {
  return { imports: view.imports };
}

/** Shows or hides the toggle after an answer to a query of `view`. */
export function reflect(toggle, view, meta) {
  if (!view.imports) return;
  toggle.hidden = !('imports_included' in meta) || meta.imports_skip_reason === 'no_imported_data';
}
