// Quick Find: filter the Setup tree as the admin types. The tree works without it.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("quick-find");
  if (!box) return;
  const filter = () => {
    const needle = box.value.trim().toLowerCase();
    document.querySelectorAll(".setup-tree li").forEach((li) => {
      li.hidden = needle !== "" && !li.dataset.label.includes(needle);
    });
    document.querySelectorAll(".tree-section").forEach((section) => {
      section.hidden = [...section.querySelectorAll("li")].every((li) => li.hidden);
    });
  };
  box.addEventListener("input", filter);
  filter();  // text typed before this script ran
});
