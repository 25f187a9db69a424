// Small progressive enhancements; every page works without them.

// Confirm before what cannot be undone. A form (or its submit button) carries
// data-confirm="what will happen", optionally data-confirm-ok / data-confirm-cancel (button
// labels) and data-confirm-when="field=value" (ask only when that field has that value).
// The question opens in an accessible dialog (Bootstrap's modal: focus moves into it and
// back, Esc cancels); cancelling submits nothing.
(function () {
  const dialog = document.getElementById("confirm-dialog");
  let pending = null;

  function asks(form, submitter) {
    const source = submitter && submitter.dataset.confirm ? submitter : form;
    if (!source.dataset.confirm) return null;
    const when = source.dataset.confirmWhen;
    if (when) {
      const [name, value] = when.split("=");
      const field = form.elements.namedItem(name);
      if (!field || field.value !== value) return null;
    }
    return source;
  }

  function proceed(form, submitter) {
    form.dataset.confirmed = "1";
    if (submitter) form.requestSubmit(submitter); else form.requestSubmit();
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirmed === "1") {
      delete form.dataset.confirmed;
      return;
    }
    const submitter = event.submitter || null;
    const source = asks(form, submitter);
    if (!source) return;
    event.preventDefault();
    if (!dialog || !window.bootstrap) {
      if (window.confirm(source.dataset.confirm)) proceed(form, submitter);
      return;
    }
    pending = { form: form, submitter: submitter, confirmed: false };
    dialog.querySelector("#confirm-dialog-message").textContent = source.dataset.confirm;
    dialog.querySelector("#confirm-dialog-ok").textContent = source.dataset.confirmOk || "确定";
    dialog.querySelector("#confirm-dialog-cancel").textContent = source.dataset.confirmCancel || "取消";
    window.bootstrap.Modal.getOrCreateInstance(dialog).show(submitter || form);
  });

  if (!dialog) return;
  dialog.addEventListener("shown.bs.modal", function () {
    dialog.querySelector("#confirm-dialog-cancel").focus();  // the safe choice has the focus
  });
  dialog.querySelector("#confirm-dialog-ok").addEventListener("click", function () {
    if (pending) pending.confirmed = true;
    window.bootstrap.Modal.getInstance(dialog).hide();
  });
  dialog.addEventListener("hidden.bs.modal", function () {
    const done = pending;
    pending = null;
    if (!done) return;
    if (done.confirmed) {
      proceed(done.form, done.submitter);
    } else {
      const back = done.submitter || done.form.querySelector("[type=submit]");
      if (back) back.focus();
    }
  });
})();
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

// 扫码签到 screen: the count follows the sign-ins; the page (its rotating QR code) reloads.
(function () {
  document.querySelectorAll("[data-poll-url]").forEach(function (box) {
    setInterval(function () {
      fetch(box.dataset.pollUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          box.querySelectorAll("[data-field]").forEach(function (el) {
            if (el.dataset.field in data) el.textContent = data[el.dataset.field];
          });
        })
        .catch(function () {});
    }, 5000);
  });
  document.querySelectorAll("[data-refresh-seconds]").forEach(function (el) {
    setTimeout(function () { window.location.reload(); }, Number(el.dataset.refreshSeconds) * 1000);
  });
})();

// A refused form: the focus goes to the first field in error, which announces itself with its
// message (aria-invalid, aria-describedby from templates/_macros/forms.html).
// Hand-written fields marked .is-invalid get the same ties here.
(function () {
  let n = 0;
  document.querySelectorAll("main .is-invalid").forEach(function (el) {
    if (!el.matches("input, select, textarea")) return;
    el.setAttribute("aria-invalid", "true");
    const feedback = el.parentElement && el.parentElement.querySelector(".invalid-feedback");
    if (!feedback) return;
    if (!feedback.id) feedback.id = "invalid-feedback-" + (++n);
    const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(feedback.id) < 0) el.setAttribute("aria-describedby", [feedback.id].concat(ids).join(" "));
  });
  const first = document.querySelector("main [aria-invalid='true']:not([type=hidden]), main .is-invalid");
  if (first && typeof first.focus === "function") first.focus();
})();

// The skip link moves the focus to the main content without adding #main to the address
// (a form posted from the page would otherwise carry it on to the next page).
(function () {
  const skip = document.querySelector(".skip-link");
  const main = document.getElementById("main");
  if (!skip || !main) return;
  skip.addEventListener("click", function (event) {
    event.preventDefault();
    main.focus();
    main.scrollIntoView();
  });
})();

// A link inside running text keeps the line's height on a phone (the inline exception of the
// 44-px touch targets in app.css): it would otherwise stand taller than its line and not wrap.
// In a flex or grid box the text beside a link is no sentence: each is a block of its own.
document.querySelectorAll("main a:not(.btn)").forEach(function (a) {
  const box = a.parentElement;
  const text = Array.prototype.some.call(box.childNodes, function (n) {
    return n.nodeType === 3 && n.textContent.trim();
  });
  if (text && !/flex|grid/.test(getComputedStyle(box).display)) a.classList.add("in-text");
});
