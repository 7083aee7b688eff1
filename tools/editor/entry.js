// What static/workbench.js uses of CodeMirror 6, bundled by build.sh into one script that
// sets the global `IkmkgCM` (the page loads it with a plain <script>, no module loader).
export { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
         drawSelection, Decoration, placeholder } from "@codemirror/view";
export { EditorState, StateField } from "@codemirror/state";
export { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
export { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching,
         indentOnInput } from "@codemirror/language";
export { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap,
         startCompletion } from "@codemirror/autocomplete";
export { sparql } from "@codemirror/legacy-modes/mode/sparql";
