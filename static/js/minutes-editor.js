// The minutes editor: each <textarea data-rich> becomes a Quill editor limited to
// paragraphs, bulleted and numbered lists and bold. The textarea stays in the form (hidden)
// and always holds the editor's HTML, so the form posts what the user sees; without
// JavaScript the textarea itself is the editor and nothing is lost. The server sanitises
// the HTML again with nh3 (common/html.py clean_html).
(function () {
  "use strict";
  if (!window.Quill) return;

  const BUTTONS = [
    // [format, value, visible text, accessible name]
    ["bold", null, "加粗", "加粗（Ctrl+B）"],
    ["list", "bullet", "• 列表", "项目符号列表"],
    ["list", "ordered", "1. 编号", "1. 编号列表"],  // the name begins with the visible text (WCAG 2.5.3)
  ];
  // Tab leaves the editor (keyboard users reach the next field) instead of inserting a tab
  // character or indenting a list: these default Quill bindings are switched off.
  const NO_TAB = {};
  ["indent", "outdent", "indent code-block", "outdent code-block", "remove tab", "tab", "table tab"].forEach(
    function (name) { NO_TAB[name] = null; }
  );

  function toolbarFor() {
    const bar = document.createElement("div");
    bar.className = "rich-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "文字格式");
    BUTTONS.forEach(function (b) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-secondary ql-" + b[0];
      if (b[1]) button.value = b[1];
      button.textContent = b[2];
      button.title = b[3];
      button.setAttribute("aria-label", b[3]);
      bar.appendChild(button);
    });
    return bar;
  }

  function enhance(area) {
    const label = document.querySelector('label[for="' + area.id + '"]');
    const wrap = document.createElement("div");
    wrap.className = "rich-editor" + (area.classList.contains("is-invalid") ? " is-invalid" : "");
    const bar = toolbarFor();
    const box = document.createElement("div");
    box.className = "rich-editor-box";
    wrap.appendChild(bar);
    wrap.appendChild(box);
    area.insertAdjacentElement("afterend", wrap);

    const quill = new window.Quill(box, {
      formats: ["bold", "list"],
      modules: { toolbar: { container: bar }, keyboard: { bindings: NO_TAB } },
      placeholder: area.getAttribute("placeholder") || "",
    });
    // What the textarea holds (stored HTML, or what was posted before a refused save) is
    // parsed by Quill's clipboard in a detached document: no script runs, nothing loads.
    const value = area.value.trim();
    const delta = value.indexOf("<") === -1
      ? quill.clipboard.convert({ text: value })
      : quill.clipboard.convert({ html: value });
    quill.setContents(delta, "silent");
    quill.history.clear();

    const editor = quill.root;
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    const describedBy = area.getAttribute("aria-describedby");
    if (describedBy) editor.setAttribute("aria-describedby", describedBy);
    if (label) {
      // The label now names the editor, not the hidden textarea.
      label.id = label.id || area.id + "-label";
      label.removeAttribute("for");
      editor.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { quill.focus(); });
    }
    area.hidden = true;
    area.setAttribute("aria-hidden", "true");
    area.tabIndex = -1;

    function sync() {
      area.value = quill.getLength() <= 1 ? "" : quill.getSemanticHTML().replace(/&nbsp;|\u00a0/g, " ");
    }
    quill.on("text-change", sync);
    if (area.form) area.form.addEventListener("submit", sync);
    return quill;
  }

  document.querySelectorAll("textarea[data-rich]").forEach(enhance);
  const hint = document.getElementById("rich-nojs-hint");
  if (hint) hint.remove();
})();
