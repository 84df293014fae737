// Fill the Unique Name from the Label as the admin types, until they edit it themselves.
// The same rules as certadmin/naming.py: unique_name_from().
document.addEventListener("DOMContentLoaded", () => {
  const label = document.querySelector("[data-unique-name-source]");
  const target = document.querySelector("[data-unique-name-target]");
  if (!label || !target) return;
  const fromLabel = () => {
    let name = label.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (name && !/^[A-Za-z]/.test(name)) name = "X" + name;
    return name.slice(0, 80).replace(/_+$/, "");
  };
  let touched = target.value !== "" && target.value !== fromLabel();
  target.addEventListener("input", () => { touched = target.value !== ""; });
  const update = () => { if (!touched) target.value = fromLabel(); };
  label.addEventListener("input", update);
  // A Label typed (or restored by the browser) before this script ran is used too.
  update();
});
