/* ikmkg query workbench (issue #18): progressive enhancement of the query form.
 *
 * Without JavaScript the page is a textarea in a form that posts. With it, the textarea becomes
 * a CodeMirror 6 editor (vendored: codemirror-6.0.2.bundle.min.js, global IkmkgCM) with SPARQL
 * highlighting, bracket matching and completion of keywords, prefixes (adding the PREFIX line a
 * query lacks), the ontology's classes and properties with their labels in the reader's
 * language (GET /sparql/vocabulary), variables of the query, and entities by label (the search
 * API). The form still posts the textarea, which the editor keeps up to date. A syntax error
 * the server reported is marked at its line and column.
 */
(function () {
  "use strict";
  var CM = window.IkmkgCM;
  var form = document.querySelector("form.query-form");
  var textarea = form && form.querySelector("textarea[name=query]");
  if (!CM || !textarea) return;

  var KEYWORDS = ("SELECT CONSTRUCT ASK DESCRIBE WHERE PREFIX BASE DISTINCT OPTIONAL FILTER " +
    "BIND VALUES UNION MINUS GRAPH ORDER BY GROUP HAVING LIMIT OFFSET ASC DESC COUNT SUM AVG " +
    "MIN MAX SAMPLE GROUP_CONCAT LANG LANGMATCHES STR REGEX CONTAINS STRSTARTS NOT EXISTS IN " +
    "AS COALESCE IF YEAR").split(" ");
  var vocabulary = { prefixes: {}, terms: [], search: null };
  var ready = fetch(form.getAttribute("data-vocabulary"), { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (v) { if (v) vocabulary = v; return vocabulary; })
    .catch(function () { return vocabulary; });

  function declared(text) {
    var found = {}, re = /PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>/gi, m;
    while ((m = re.exec(text))) found[m[1] || ""] = m[2];
    return found;
  }

  // Insert `text` at [from, to]; add `PREFIX p: <iri>` at the top when the query lacks it.
  function applyWithPrefix(text, prefix) {
    return function (view, completion, from, to) {
      var doc = view.state.doc.toString();
      var changes = [{ from: from, to: to, insert: text }];
      var iri = vocabulary.prefixes[prefix];
      if (prefix !== null && iri && !(prefix in declared(doc))) {
        changes.push({ from: 0, insert: "PREFIX " + prefix + ": <" + iri + ">\n" });
      }
      view.dispatch({ changes: changes,
                      selection: { anchor: from + text.length + (changes.length > 1 ? changes[1].insert.length : 0) } });
    };
  }

  function vocabularySource(context) {
    var pname = context.matchBefore(/[A-Za-z][\w.-]*:[\w.-]*$/);
    if (pname) {
      var prefix = pname.text.slice(0, pname.text.indexOf(":"));
      return ready.then(function () {
        var options = vocabulary.terms.filter(function (t) {
          return t.name.indexOf(prefix + ":") === 0;
        }).map(function (t) {
          return { label: t.name, detail: t.label, info: t.description || null,
                   type: t.kind === "class" ? "class" : "property", boost: t.kind === "class" ? 1 : 0,
                   apply: applyWithPrefix(t.name, prefix) };
        });
        return options.length ? { from: pname.from, options: options, validFor: /^[\w.:-]*$/ } : null;
      });
    }
    var variable = context.matchBefore(/\?\w*$/);
    if (variable) {
      var seen = {}, re = /\?(\w+)/g, m, text = context.state.doc.toString();
      while ((m = re.exec(text))) seen["?" + m[1]] = true;
      delete seen[variable.text];
      return { from: variable.from, options: Object.keys(seen).map(function (v) {
        return { label: v, type: "variable" }; }), validFor: /^\?\w*$/ };
    }
    var word = context.matchBefore(/[A-Za-z_]\w*$/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return ready.then(function () {
      var options = KEYWORDS.map(function (k) { return { label: k, type: "keyword" }; });
      Object.keys(vocabulary.prefixes).forEach(function (p) {
        options.push({ label: p + ":", detail: vocabulary.prefixes[p], type: "namespace",
                       apply: applyWithPrefix(p + ":", p) });
      });
      return { from: word.from, options: options, validFor: /^\w*$/ };
    });
  }

  // Entities by label through the search API: a word of three letters or more.
  function entitySource(context) {
    var word = context.matchBefore(/(?:^|[\s{(.;,])([A-Za-z\u00C0-\u024F][\w\u00C0-\u024F-]{2,})$/);
    if (!word || !vocabulary.search) return null;
    var text = word.text.replace(/^[\s{(.;,]/, "");
    var from = word.to - text.length;
    var url = vocabulary.search + "?format=json&q=" + encodeURIComponent(text) +
      (vocabulary.lang ? "&lang=" + vocabulary.lang : "");
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (body) {
        if (context.aborted) return null;
        var options = body.results.slice(0, 8).map(function (hit) {
          var types = (hit.types || []).map(function (t) { return t.label; }).join(", ");
          return { label: hit.label, detail: types, info: "<" + hit.iri + ">", type: "text",
                   boost: -1, apply: "<" + hit.iri + ">" };
        });
        return options.length ? { from: from, options: options, filter: false } : null;
      })
      .catch(function () { return null; });
  }

  // The error the server reported: its line marked until the text changes.
  var errorMark = [];
  var line = parseInt(textarea.getAttribute("data-error-line") || "0", 10);
  var column = parseInt(textarea.getAttribute("data-error-column") || "0", 10);
  var errorField = CM.StateField.define({
    create: function (state) {
      if (!line || line > state.doc.lines) return CM.Decoration.none;
      var l = state.doc.line(line);
      var at = Math.min(l.from + Math.max(column - 1, 0), l.to);
      errorMark = [at];
      var marks = [CM.Decoration.line({ class: "cm-error-line" }).range(l.from)];
      if (at < l.to) marks.push(CM.Decoration.mark({ class: "cm-error-mark" }).range(at, at + 1));
      return CM.Decoration.set(marks, true);
    },
    update: function (deco, tr) { return tr.docChanged ? CM.Decoration.none : deco; },
    provide: function (f) { return CM.EditorView.decorations.from(f); }
  });

  var label = document.querySelector("label[for=query]");
  function contentAttributes() {
    var attributes = { "aria-label": label ? label.textContent : "SPARQL query" };
    if (textarea.getAttribute("aria-describedby")) {
      attributes["aria-describedby"] = textarea.getAttribute("aria-describedby");
    }
    return attributes;
  }
  var view = new CM.EditorView({
    doc: textarea.value,
    extensions: [
      CM.lineNumbers(), CM.highlightActiveLineGutter(), CM.history(), CM.drawSelection(),
      CM.indentOnInput(), CM.bracketMatching(), CM.closeBrackets(), CM.highlightActiveLine(),
      CM.StreamLanguage.define(CM.sparql),
      CM.syntaxHighlighting(CM.defaultHighlightStyle, { fallback: true }),
      CM.autocompletion({ override: [vocabularySource, entitySource], activateOnTyping: true }),
      CM.keymap.of([{ key: "Mod-Enter", run: function () { submit(); return true; } }]
        .concat(CM.closeBracketsKeymap, CM.defaultKeymap, CM.historyKeymap, CM.completionKeymap)),
      CM.EditorView.lineWrapping,
      CM.EditorView.contentAttributes.of(contentAttributes()),
      CM.EditorView.updateListener.of(function (update) {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
      errorField
    ]
  });
  textarea.hidden = true;
  textarea.parentNode.insertBefore(view.dom, textarea);
  view.dom.classList.add("query-editor");
  if (label) label.addEventListener("click", function () { view.focus(); });
  if (errorMark.length) {
    view.dispatch({ selection: { anchor: errorMark[0] }, scrollIntoView: true });
  }

  function submit() {
    textarea.value = view.state.doc.toString();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  form.addEventListener("submit", function () { textarea.value = view.state.doc.toString(); });
  window.ikmkgEditor = view;  // for the browser tests and the console

  // A copy button on each code snippet.
  Array.prototype.forEach.call(document.querySelectorAll(".snippet pre"), function (pre) {
    if (!navigator.clipboard) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = document.documentElement.lang === "id" ? "Salin" : "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.textContent).then(function () {
        button.textContent = "✓";
      });
    });
    pre.parentNode.insertBefore(button, pre);
  });
})();
