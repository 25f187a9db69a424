// Small progressive enhancements; every page works without them.
document.addEventListener("submit", function (event) {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  input.select();
  const done = function () { button.textContent = "已复制"; };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
// Auto-submit filter selects on change (the form still has a submit button).
document.querySelectorAll("form[data-autosubmit] select").forEach(function (el) {
  el.addEventListener("change", function () { el.form.submit(); });
});
// A tiny formatting toolbar for minutes text: bold and bullet lists only (the server
// keeps paragraphs, lists and bold, and sanitises everything else away).
document.querySelectorAll("textarea[data-rich], .rich-field textarea").forEach(function (area) {
  const bar = document.createElement("div");
  bar.className = "rich-toolbar btn-group btn-group-sm mb-1";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "格式");
  function wrap(before, after, perLine) {
    const start = area.selectionStart, end = area.selectionEnd;
    let text = area.value.slice(start, end) || "文字";
    if (perLine) {
      text = text.split("\n").filter(function (l) { return l.trim(); })
        .map(function (l) { return "<li>" + l.trim() + "</li>"; }).join("");
    }
    area.setRangeText(before + text + after, start, end, "select");
    area.focus();
  }
  [["加粗", "<strong>", "</strong>", false], ["列表", "<ul>", "</ul>", true]].forEach(function (b) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary";
    button.textContent = b[0];
    button.addEventListener("click", function () { wrap(b[1], b[2], b[3]); });
    bar.appendChild(button);
  });
  area.parentNode.insertBefore(bar, area);
});
