// The Setup tree: Quick Find filters it as the admin types and says how many pages match (or
// that none does); below 800 px the tree is collapsed behind the "Setup menu" button. The tree
// works without this script (all links shown).
document.addEventListener("DOMContentLoaded", () => {
  const tree = document.getElementById("setup-tree");
  const box = document.getElementById("quick-find");
  if (!tree || !box) return;
  const status = document.getElementById("find-status");
  const toggle = tree.querySelector(".tree-toggle");
  const filter = () => {
    const needle = box.value.trim().toLowerCase();
    let shown = 0;
    tree.querySelectorAll("li").forEach((li) => {
      li.hidden = needle !== "" && !li.dataset.label.includes(needle);
      if (!li.hidden) shown += 1;
    });
    tree.querySelectorAll(".tree-section").forEach((section) => {
      section.hidden = [...section.querySelectorAll("li")].every((li) => li.hidden);
    });
    tree.classList.toggle("finding", needle !== "");
    if (needle === "") status.textContent = "";
    else if (shown === 0) status.textContent = "No Setup pages match.";
    else status.textContent = `${shown} Setup page${shown === 1 ? " matches" : "s match"}.`;
  };
  box.addEventListener("input", filter);
  filter();  // text typed before this script ran
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    tree.classList.toggle("collapsed", !open);
  });
});

// Select all: a header checkbox ticks or clears every row checkbox of its form
// (data-select-all names the rows' input). Without script the rows are ticked one by one.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-select-all]").forEach((all) => {
    const form = all.closest("form");
    const rows = () => [...form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`)];
    if (!form || rows().length === 0) return;
    const header = all.closest("th");
    all.closest("label").hidden = false;
    header.querySelector(".select-all-fallback")?.remove();
    const sync = () => {
      const ticked = rows().filter((box) => box.checked).length;
      all.checked = ticked === rows().length;
      all.indeterminate = ticked > 0 && ticked < rows().length;
    };
    all.addEventListener("change", () => {
      rows().forEach((box) => { box.checked = all.checked; });
      sync();
    });
    rows().forEach((box) => box.addEventListener("change", sync));
    sync();
  });
});
