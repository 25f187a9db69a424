// The invitation picker of the meeting forms (templates/meetings/_invite_pickers.html): the
// list of the units that will be invited, with its count, kept up to date as communities,
// categories and single units are chosen; any unit can be removed from it. It computes what
// the server will (services.meetings.units_for_invitation): the units ticked one by one, plus
// the registered units matching the quick choice, less the ones removed.
(function () {
  const root = document.getElementById("invite-picker");
  if (!root) return;
  const boxes = Array.from(root.querySelectorAll("input[name=units]"));
  const communities = Array.from(root.querySelectorAll("input[name=invite_community]"));
  const categories = Array.from(root.querySelectorAll("input[name=invite_category]"));
  const excludes = root.querySelector("#invite-excludes");
  const preview = root.querySelector("#invite-preview");
  const list = root.querySelector("#invite-list");
  const count = root.querySelector("#invite-count");
  const empty = root.querySelector("#invite-empty");
  const match = root.querySelector("#invite-match");
  const picked = root.querySelector("#invite-picked");
  const removed = new Set(Array.from(excludes.querySelectorAll("input")).map(function (i) { return i.value; }));

  function labelOf(box) {
    const label = root.querySelector('label[for="' + box.id + '"]');
    return label ? label.textContent.trim() : box.value;
  }

  function matching() {
    const cs = communities.filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    const ks = categories.filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    const out = new Set();
    if (!cs.length && !ks.length) return out;
    boxes.forEach(function (b) {
      if (b.dataset.active === "1" && (!cs.length || cs.indexOf(b.dataset.community) >= 0) &&
          (!ks.length || ks.indexOf(b.dataset.category) >= 0)) out.add(b.value);
    });
    return out;
  }

  function render(focusAfter) {
    const matched = matching();
    const invited = boxes.filter(function (b) {
      return (b.checked || matched.has(b.value)) && !removed.has(b.value);
    });
    excludes.replaceChildren.apply(excludes, Array.from(removed).map(function (value) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "invite_exclude";
      input.value = value;
      return input;
    }));
    count.textContent = "将邀请 " + invited.length + " 个单位";
    picked.textContent = String(boxes.filter(function (b) { return b.checked; }).length);
    match.hidden = !(communities.some(function (c) { return c.checked; }) || categories.some(function (c) { return c.checked; }));
    match.textContent = "符合所选社区和类别的在册单位 " + matched.size + " 个" + (matched.size ? "，已列入邀请名单。" : "。");
    list.replaceChildren.apply(list, invited.map(function (box) {
      const item = document.createElement("li");
      item.className = "invite-chip";
      const name = document.createElement("span");
      name.textContent = labelOf(box);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-link btn-sm p-0 ms-2";
      remove.textContent = "移除";
      remove.setAttribute("aria-label", "移除 " + labelOf(box));
      remove.dataset.unit = box.value;
      item.append(name, remove);
      return item;
    }));
    empty.hidden = invited.length > 0;
    if (focusAfter !== undefined) {
      const buttons = list.querySelectorAll("button");
      (buttons[Math.min(focusAfter, buttons.length - 1)] || count).focus();
    }
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-unit]");
    if (!button) return;
    const index = Array.from(list.querySelectorAll("button")).indexOf(button);
    const box = boxes.find(function (b) { return b.value === button.dataset.unit; });
    if (box) box.checked = false;
    if (matching().has(button.dataset.unit)) removed.add(button.dataset.unit);
    render(index);
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked) removed.delete(box.value);
      render();
    });
  });
  communities.concat(categories).forEach(function (chip) { chip.addEventListener("change", function () { render(); }); });
  count.tabIndex = -1;
  preview.hidden = false;
  render();
})();
