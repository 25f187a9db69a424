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
