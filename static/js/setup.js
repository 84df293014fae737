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
