// Fill the Unique Name from the Label as the admin types, until they edit it themselves.
// The same rules as certadmin/naming.py: unique_name_from().
document.addEventListener("DOMContentLoaded", () => {
  const label = document.querySelector("[data-unique-name-source]");
  const target = document.querySelector("[data-unique-name-target]");
  if (!label || !target) return;
  let touched = target.value !== "";
  target.addEventListener("input", () => { touched = target.value !== ""; });
  label.addEventListener("input", () => {
    if (touched) return;
    let name = label.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (name && !/^[A-Za-z]/.test(name)) name = "X" + name;
    target.value = name.slice(0, 80).replace(/_+$/, "");
  });
});
